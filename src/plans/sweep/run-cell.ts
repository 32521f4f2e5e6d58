import os from 'node:os';
import { EtcdCluster } from '../../cluster/etcd-cluster.ts';
import { ETCD_DEFAULTS } from '../../cluster/etcd-options.ts';
import { LabTimeoutError } from '../../errors.ts';
import type { HostCapabilities } from '../../faults/capabilities.ts';
import { faultTraits, onlyMechanism } from '../../faults/catalog.ts';
import type { FaultHandle } from '../../faults/fault.ts';
import { summarizeElectionTrials } from '../../measure/election-summary.ts';
import type { ElectionTrial } from '../../measure/election-trial.ts';
import { runElectionTrials } from '../../run/leader-loss-trials.ts';
import { sleep, type RunClock } from '../../util/clock.ts';
import { cellRecord, type CellResult, type HealTrial, type QuietWindowResult } from './cell-result.ts';
import { healTrial, observeQuietWindows } from './cell-measurements.ts';
import { conditionFault } from './conditions.ts';
import { isLeaderFault, LEADER_LOSS_FAULTS, type SweepCell } from './spec.ts';

// The cell's orchestration: its cluster, condition, quiet windows and fault trials, in order.
// The record's types and builder are in cell-result.ts, the measurements in cell-measurements.ts
// and their pure figures in cell-analysis.ts; the types are re-exported here for importers.
export type {
  CellResult,
  HealTrial,
  QuietWindowResult,
  QuietWindowSample,
  WriteFigures,
} from './cell-result.ts';

export interface CellContext {
  readonly sweep: string;
  readonly clock: RunClock;
  readonly signal?: AbortSignal;
  readonly caps?: HostCapabilities;
  readonly onProgress?: (message: string) => void;
}

/**
 * Measures one cell on its own cluster: start it, put the condition on every member, watch a
 * quiet window under write load, then run the fault `trials` times on the same cluster. The
 * condition and every fault are healed and the cluster removed however this ends.
 */
export async function runCell(cell: SweepCell, ctx: CellContext): Promise<CellResult> {
  const { clock, signal } = ctx;
  const say = ctx.onProgress ?? (() => undefined);
  const startedAt = new Date().toISOString();
  const startMs = clock.now();
  const loadAtStart = os.loadavg();
  const builder = new EtcdCluster()
    .withMembers(cell.cluster.members)
    .withEtcdOptions(cell.etcdOptions)
    .withDataDir(cell.cluster.dataDir);
  if (cell.cluster.image !== undefined) builder.withImage(cell.cluster.image);
  signal?.throwIfAborted();
  await using cluster = await builder.start();
  const electionTimeoutMs = cell.etcdOptions.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs;
  const leaderTimeoutMs = 10 * electionTimeoutMs + 10_000;
  const faultCtx = {
    cluster,
    clock,
    seed: cell.seed,
    leaderTimeoutMs,
    ...(ctx.caps === undefined ? {} : { caps: ctx.caps }),
  };
  const conditionHandles: FaultHandle[] = [];
  const applyCondition = async () => {
    const fault = conditionFault(
      cell.condition,
      cluster.members.map((m) => m.name),
    );
    // A second injection of the same fault replaces the first (healing what is left of it).
    if (fault !== undefined) conditionHandles.push(await fault.inject(faultCtx));
  };

  let quiet: QuietWindowResult | null = null;
  let elections: CellResult['elections'] = null;
  let heals: HealTrial[] | null = null;
  let faultMechanism: string | null = null;
  let incomplete: string | null = null;
  try {
    await cluster.waitForStableLeader({ timeoutMs: leaderTimeoutMs });
    await applyCondition();
    // Whatever the condition's onset does (a delay can itself cost an election) settles first.
    await cluster.waitForStableLeader({ timeoutMs: leaderTimeoutMs });
    await sleep(2 * electionTimeoutMs, signal);

    if (cell.quietWindowMs > 0) {
      say(
        `quiet window${cell.quietWindows > 1 ? `s: ${cell.quietWindows} ×` : ' of'} ${cell.quietWindowMs / 1000} s under ${cell.condition.kind}`,
      );
      quiet = await observeQuietWindows(cluster, cell, clock, signal, (window, changes, termIncrease) =>
        say(
          `quiet window ${window}/${cell.quietWindows}: ${changes ?? '?'} leader changes, term +${termIncrease ?? '?'}`,
        ),
      );
      if (cell.quietWindows > 1) {
        say(
          `quiet windows: ${quiet.leaderChanges ?? '?'} leader changes in ${quiet.observedMs / 1000} s (${quiet.leaderChangesPerMinute?.toFixed(1) ?? '?'}/min), write p99 ${fmt(quiet.writes.p99Ms)} ms`,
        );
      }
    }

    const fault = cell.fault;
    if (isLeaderFault(fault)) {
      // The catalog kind the trials apply to the leader, and the one mechanism it has.
      const kind = LEADER_LOSS_FAULTS[fault.kind];
      faultMechanism = onlyMechanism(kind);
      const trials: ElectionTrial[] = [];
      try {
        await runElectionTrials(cluster, {
          trials: cell.trials,
          fault: kind,
          clock,
          // A killed member comes back in a new network namespace, without the delay it had.
          ...(faultTraits(kind).process === 'restarted' && cell.condition.kind === 'rtt'
            ? { beforeTrial: async (trial: number) => (trial > 1 ? applyCondition() : undefined) }
            : {}),
          onTrial: (trial) => trials.push(trial),
          onProgress: say,
          ...(signal === undefined ? {} : { signal }),
          ...(ctx.caps === undefined ? {} : { caps: ctx.caps }),
        });
      } finally {
        elections = {
          trials,
          summary: summarizeElectionTrials(trials, {
            electionTimeoutMs,
            heartbeatMs: cell.etcdOptions.heartbeatMs ?? ETCD_DEFAULTS.heartbeatMs,
            survivors: cell.cluster.members - 1,
          }),
        };
      }
    } else if (fault.kind === 'partition-and-heal') {
      heals = [];
      for (let trial = 1; trial <= cell.trials; trial++) {
        const result = await healTrial(cluster, cell, fault, trial, faultCtx, signal);
        heals.push(result);
        faultMechanism = result.isolation.mechanism;
        say(
          `trial ${trial}/${cell.trials}: isolated ${result.isolated} (campaigned up to term ${result.isolatedCampaignTerm ?? '?'}), heal: term ${result.termBeforeHeal} → ${result.termAfter ?? '?'}, ${result.leaderChangesOnHeal ?? '?'} leader changes`,
        );
      }
    }
  } catch (error) {
    // A cluster that loses its leader for good under the condition is a measurement.
    if (!(error instanceof LabTimeoutError) || signal?.aborted) throw error;
    incomplete = error.message;
    say(`stopped early: ${error.message}`);
  } finally {
    for (const handle of conditionHandles) await handle.heal();
  }

  return cellRecord(ctx.sweep, cell, {
    startedAt,
    durationMs: clock.now() - startMs,
    loadAverage: { start: loadAtStart, end: os.loadavg() },
    environment: cluster.describe(),
    mechanisms: { condition: conditionHandles[0]?.mechanism ?? null, fault: faultMechanism },
    conditionFaults: conditionHandles.map((h) => h.record()),
    quiet,
    elections,
    heals,
    incomplete,
  });
}

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '?' : v.toFixed(0));
