import os from 'node:os';
import { mkdir } from 'node:fs/promises';
import { ETCD_DEFAULTS } from '../../cluster/etcd-options.ts';
import {
  endedBy,
  envelope,
  hostInfo,
  imageFields,
  runEnvironment,
  type RunStatus,
} from '../../run/results-envelope.ts';
import { writeJsonAtomically } from '../../util/atomic-json.ts';
import { RunClock } from '../../util/clock.ts';
import { progress } from '../../util/log.ts';
import type { CellResult } from './cell-result.ts';
import { writeSweepOutputs } from './report.ts';
import { cellFile, planResume, readFinishedCells, requireResumable } from './results-dir.ts';
import { runCell } from './run-cell.ts';
import { planCells, type SweepCell, type SweepSpec } from './spec.ts';
import { spuriousElectionBoundaries } from './spurious-elections.ts';
import type { SweepResult } from './sweep-result.ts';
import { evaluateExpectations } from './verdicts.ts';

export interface SweepRunOptions {
  /** Results directory; a directory of an interrupted run of the same sweep is resumed. */
  readonly out: string;
  /** Stops after the cell in progress is torn down (its faults healed, its cluster removed). */
  readonly signal?: AbortSignal;
  /** Progress lines; default: the lab's stderr progress. */
  readonly onProgress?: (line: string) => void;
  /** Called when a cell's file has been written. */
  readonly onCellDone?: (cell: CellResult) => void;
  /** Called with the sweep's result just before its files are written. */
  readonly onResult?: (result: SweepResult) => void;
}

/**
 * Runs every cell not already finished in `out`, one cluster per cell, writing each cell's
 * result as soon as it is done; then writes result.json, sweep.csv and the charts for all cells,
 * junit.xml and report.md (see writeSweepOutputs). A directory holding cells measured differently is refused before anything starts.
 * What the clusters do is a result; only the lab's own failures end the run early ('failed').
 */
export async function runSweep(
  spec: SweepSpec,
  options: SweepRunOptions,
): Promise<{ result: SweepResult; files: string[] }> {
  const { out, signal } = options;
  const say = options.onProgress ?? progress;
  const cells = planCells(spec);
  const finished = await readFinishedCells(out);
  const plan = planResume(spec.name, cells, finished);
  requireResumable(out, plan);
  await mkdir(out, { recursive: true });

  const clock = new RunClock();
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  const reusedIds = new Set(plan.reused.map((c) => c.cellId));
  const results = new Map(finished.filter((f) => reusedIds.has(f.cellId)).map((f) => [f.cellId, f]));
  if (plan.reused.length > 0) {
    say(`${spec.name}: keeping ${plan.reused.length} finished cells from ${out}, ${plan.toRun.length} to go`);
  }
  const timings: CellTiming[] = [];
  const measured: string[] = [];
  let status: RunStatus = 'completed';
  let error: string | undefined;
  try {
    for (const [i, cell] of plan.toRun.entries()) {
      signal?.throwIfAborted();
      const left = remainingMs(plan.toRun.slice(i), timings);
      const prefix = `cell ${cell.index}/${cells.length}`;
      say(`${prefix} ${cell.label}: starting (about ${formatDuration(left)} left)`);
      const began = clock.now();
      const result = await runCell(cell, {
        sweep: spec.name,
        clock,
        ...(signal === undefined ? {} : { signal }),
        onProgress: (line) => say(`${prefix}: ${line}`),
      });
      await writeJsonAtomically(cellFile(out, cell.cellId), result);
      results.set(cell.cellId, result);
      measured.push(cell.cellId);
      timings.push({ estimatedMs: estimateCellMs(cell), actualMs: clock.now() - began });
      say(
        `${prefix} done in ${formatDuration(clock.now() - began)}${result.incomplete ? ' (stopped early)' : ''}`,
      );
      options.onCellDone?.(result);
    }
  } catch (caught) {
    ({ status, error } = endedBy(caught, signal));
  }

  const done = cells.flatMap((cell) => {
    const result = results.get(cell.cellId);
    return result === undefined ? [] : [{ cell, result: { ...result, index: cell.index } }];
  });
  const checks = status === 'completed' ? evaluateExpectations(spec.expectations, done) : [];
  const cellResults = done.map((d) => d.result);
  // The cells ran on clusters of one image; the first cell's record names it (each cell keeps
  // its own record, with its cluster's members, timing and run ID: those are not the sweep's).
  const environment = runEnvironment(imageFields(cellResults[0]?.environment), hostInfo(loadAtStart));
  const result: SweepResult = {
    ...envelope({
      kind: 'sweep',
      name: spec.name,
      title: spec.title,
      status,
      error,
      startedAt,
      durationMs: clock.now(),
      environment,
      checks,
    }),
    checks,
    sweep: spec,
    measuredCells: measured,
    reusedCells: plan.reused.map((c) => c.cellId),
    cells: cellResults,
    spuriousElections: spuriousElectionBoundaries(cellResults),
  };
  options.onResult?.(result);
  const files = await writeSweepOutputs(out, result);
  return { result, files };
}

export interface CellTiming {
  readonly estimatedMs: number;
  readonly actualMs: number;
}

/**
 * A rough a-priori duration of one cell: cluster start, settling, the quiet window and the
 * trials (a leader-fault trial waits for convergence, the election, the metrics to settle and
 * the member's return, each a few election timeouts).
 */
export function estimateCellMs(cell: SweepCell): number {
  const et = cell.etcdOptions.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs;
  const startMs = 8_000 + 2 * et;
  const fault = cell.fault;
  const trialMs =
    fault.kind === 'none'
      ? 0
      : fault.kind === 'partition-and-heal'
        ? fault.isolationMs + (fault.observeMs ?? Math.max(2_000, 10 * et)) + 2 * et + 2_000
        : 8 * et + 2_500;
  return startMs + cell.quietWindows * cell.quietWindowMs + cell.trials * trialMs;
}

/** Time left: the estimate for the remaining cells, scaled by how the finished ones compared with theirs. */
export function remainingMs(remaining: readonly SweepCell[], finished: readonly CellTiming[]): number {
  const estimated = remaining.reduce((sum, cell) => sum + estimateCellMs(cell), 0);
  const estimatedDone = finished.reduce((sum, t) => sum + t.estimatedMs, 0);
  const actualDone = finished.reduce((sum, t) => sum + t.actualMs, 0);
  return estimatedDone > 0 ? (estimated * actualDone) / estimatedDone : estimated;
}

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
