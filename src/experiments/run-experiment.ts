import { EtcdCluster } from '../cluster/etcd-cluster.ts';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { checkAcknowledgedWrites, type AcknowledgedWritesResult } from '../checks/acknowledged-writes.ts';
import { LabError } from '../errors.ts';
import type { Fault, FaultHandle, FaultRecord } from '../faults/fault.ts';
import { DelayFault } from '../faults/network/delay.ts';
import { LossFault } from '../faults/network/loss.ts';
import { isolate } from '../faults/network/partition.ts';
import { kill, pause, sigstop, stop } from '../faults/process/process-fault.ts';
import { CpuThrottleFault } from '../faults/resources/cpu-throttle.ts';
import { History } from '../history/history.ts';
import {
  deriveLeaderChange,
  LeaderTracker,
  type LeaderChange,
  type LeaderObservation,
} from '../measure/leader-tracker.ts';
import {
  compareWindows,
  longestUnavailability,
  summarizeOperations,
  timeSeries,
  type OperationsSummary,
  type TimeBucket,
  type WindowComparison,
} from '../measure/latency-stats.ts';
import { runWorkload } from '../workload/run-workload.ts';
import { RunClock, sleep } from '../util/clock.ts';
import { progress } from '../util/log.ts';
import type { ExperimentSpec, FaultStep } from './spec.ts';

export type Verdict = 'held' | 'deviated' | 'unknown';

export interface HypothesisCheck {
  readonly name: string;
  readonly expected: string;
  readonly observed: string;
  readonly verdict: Verdict;
}

export interface StepResult {
  readonly step: FaultStep;
  readonly fault: FaultRecord;
  readonly leaderChange: LeaderChange | null;
  /** Longest gap between successful writes around this fault, relative to it. */
  readonly writeStall: { readonly durationMs: number; readonly startRelativeToFaultMs: number } | null;
}

export interface ExperimentResult {
  readonly schemaVersion: 1;
  readonly experiment: ExperimentSpec;
  /** Chaos Toolkit's journal status: completed (ran to the end), failed (the lab failed), aborted (Ctrl-C). */
  readonly status: 'completed' | 'failed' | 'aborted';
  /** True when any hypothesis check deviated. */
  readonly deviated: boolean;
  readonly error?: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly environment: Record<string, unknown>;
  readonly steps: readonly StepResult[];
  readonly writes: {
    readonly baseline: OperationsSummary;
    readonly duringFault: OperationsSummary;
    readonly afterHeal: OperationsSummary;
    readonly duringVsBaseline: WindowComparison;
    readonly afterVsBaseline: WindowComparison;
    readonly timeline: readonly TimeBucket[];
  } | null;
  readonly recoveryMs: number | null;
  readonly acknowledgedWrites: AcknowledgedWritesResult | null;
  readonly leaderObservations: readonly LeaderObservation[];
  readonly checks: readonly HypothesisCheck[];
}

export interface RunOptions {
  readonly members?: number;
  readonly image?: string;
  readonly seed?: number;
  readonly signal?: AbortSignal;
  /** Receives the history as it grows, e.g. to stream it to disk. */
  readonly history?: History;
}

/**
 * Runs one experiment: cluster up, steady state, workload with the method's faults at their
 * times, heal, recovery, then measurements and the hypothesis checks. What the cluster does
 * wrong becomes a deviated check; only the lab's own failures make the status 'failed'.
 */
export async function runExperiment(
  spec: ExperimentSpec,
  options: RunOptions = {},
): Promise<{ result: ExperimentResult; history: History }> {
  const clock = new RunClock();
  const startedAt = new Date().toISOString();
  const history = options.history ?? new History();
  const members = options.members ?? spec.cluster.members;
  const builder = new EtcdCluster()
    .withMembers(members)
    .withEtcdOptions(withoutUndefined(spec.cluster.etcd))
    .withDataDir(spec.cluster.dataDir);
  const image = options.image ?? spec.cluster.image;
  if (image !== undefined) builder.withImage(image);

  progress(`${spec.name}: starting a ${members}-member cluster`);
  const cluster = await builder.start();
  const handles: FaultHandle[] = [];
  const tracker = new LeaderTracker(cluster, clock, { intervalMs: 20 });
  let status: ExperimentResult['status'] = 'completed';
  let error: string | undefined;
  const stepResults: { step: FaultStep; handle: FaultHandle; leaderBefore: { id: string; term: number } }[] =
    [];
  let workloadWindow = { fromMs: 0, toMs: 0 };
  let recoveryMs: number | null = null;
  let acknowledged: AcknowledgedWritesResult | null = null;
  try {
    await cluster.waitForStableLeader();
    tracker.start();
    let onStart: (startedMs: number) => void = () => undefined;
    const started = new Promise<number>((resolve) => (onStart = resolve));
    const run = runWorkload(cluster, {
      onStart,
      mode: 'open-loop',
      ratePerSecond: spec.workload.ratePerSecond,
      clients: spec.workload.clients,
      durationMs: spec.workload.durationMs,
      keyCount: spec.workload.keyCount,
      valueBytes: spec.workload.valueBytes,
      callTimeoutMs: spec.workload.callTimeoutMs,
      keyPrefix: `${spec.name}/`,
      mix: { put: 1 },
      seed: options.seed ?? 1,
      clock,
      history,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (p) =>
        progress(
          `${spec.name}: ${(p.elapsedMs / 1000).toFixed(0)} s, ${p.opsPerSecond.toFixed(0)} ops/s, ok ${p.ok}, failed ${p.fail}, indeterminate ${p.indeterminate}`,
        ),
    });
    // Faults are timed from the moment the workload starts sending (after its warm-up).
    const method = started.then((workloadStart) =>
      runMethod(spec, cluster, clock, workloadStart, handles, stepResults, options.signal),
    );
    const [workload] = await Promise.all([run, method]);
    workloadWindow = { fromMs: workload.startedMs, toMs: workload.endedMs };
    if (workload.aborted) status = 'aborted';

    for (const handle of handles) await handle.heal();
    const healedAt = clock.now();
    try {
      await cluster.waitForStableLeader({ timeoutMs: spec.hypothesis.maxRecoveryMs ?? 30_000 });
      await cluster.waitForConvergence({ timeoutMs: spec.hypothesis.maxRecoveryMs ?? 30_000 });
      recoveryMs = clock.now() - healedAt;
    } catch {
      recoveryMs = null; // the cluster did not recover in time: a deviation, not a lab failure
    }
    await sleep(spec.settleMs);
    acknowledged = checkAcknowledgedWrites(history, await readFinalValues(cluster, `${spec.name}/`));
  } catch (caught) {
    if (options.signal?.aborted) status = 'aborted';
    else {
      status = 'failed';
      error = caught instanceof LabError ? caught.message : ((caught as Error).stack ?? String(caught));
    }
  } finally {
    await tracker.stop();
    for (const handle of handles) await handle.heal().catch(() => undefined);
  }

  const environment = { ...cluster.describe(), mechanisms: handles.map((h) => h.mechanism) };
  await cluster.dispose();

  const records = [...history];
  const steps: StepResult[] = stepResults.map(({ step, handle, leaderBefore }) => {
    const fault = handle.record();
    const faultAt = effectiveAt(fault, step);
    const stall = longestUnavailability(records, { ...workloadWindow, faultAtMs: faultAt });
    return {
      step,
      fault,
      leaderChange: deriveLeaderChange(tracker.observations, {
        sinceMs: fault.injectedAtMs,
        previousLeaderId: leaderBefore.id,
        previousTerm: leaderBefore.term,
        clusterSize: members,
      }),
      writeStall: stall
        ? { durationMs: stall.durationMs, startRelativeToFaultMs: stall.startRelativeToFaultMs }
        : null,
    };
  });
  const writes = status === 'failed' ? null : windowsOf(records, steps, workloadWindow);
  const checks = checkHypothesis(spec, steps, writes, recoveryMs, acknowledged);
  const result: ExperimentResult = {
    schemaVersion: 1,
    experiment: spec,
    status,
    deviated: checks.some((c) => c.verdict === 'deviated'),
    ...(error === undefined ? {} : { error }),
    startedAt,
    durationMs: clock.now(),
    environment,
    steps,
    writes,
    recoveryMs,
    acknowledgedWrites: acknowledged,
    leaderObservations: tracker.observations,
    checks,
  };
  return { result, history };
}

async function runMethod(
  spec: ExperimentSpec,
  cluster: StartedEtcdCluster,
  clock: RunClock,
  workloadStart: number,
  handles: FaultHandle[],
  results: { step: FaultStep; handle: FaultHandle; leaderBefore: { id: string; term: number } }[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const ordered = [...spec.method].sort((a, b) => a.at - b.at);
  await Promise.all(
    ordered.map(async (step) => {
      await sleep(Math.max(0, workloadStart + step.at - clock.now()), signal);
      const { leader, term } = await cluster.waitForStableLeader({ timeoutMs: 10_000 });
      progress(`${spec.name}: injecting ${step.fault} on ${String(step.target)}`);
      const handle = await faultFor(step).inject({ cluster, clock });
      handles.push(handle);
      results.push({ step, handle, leaderBefore: { id: leader.memberId, term } });
      if (step.for !== undefined) {
        await sleep(step.for, signal);
        progress(`${spec.name}: healing ${step.fault}`);
        await handle.heal();
      }
    }),
  );
}

function faultFor(step: FaultStep): Fault {
  switch (step.fault) {
    case 'kill':
      return kill(step.target);
    case 'stop':
      return stop(step.target);
    case 'pause':
      return pause(step.target);
    case 'sigstop':
      return sigstop(step.target);
    case 'isolate':
      return isolate(step.target);
    case 'delay':
      return new DelayFault({
        target: step.target,
        delayMs: step.delayMs,
        ...(step.jitterMs === undefined ? {} : { jitterMs: step.jitterMs }),
      });
    case 'loss':
      return new LossFault({ target: step.target, lossPercent: step.lossPercent });
    case 'cpu':
      return new CpuThrottleFault({ target: step.target, cpus: step.cpus });
  }
}

async function readFinalValues(cluster: StartedEtcdCluster, prefix: string): Promise<Map<string, string>> {
  const client = cluster.client({ retries: true, callTimeoutMs: 10_000 });
  const all = await client.getAll().prefix(prefix).strings();
  return new Map(Object.entries(all));
}

function windowsOf(
  records: Parameters<typeof summarizeOperations>[0],
  steps: readonly StepResult[],
  workload: { fromMs: number; toMs: number },
): ExperimentResult['writes'] {
  // Windows are clamped to the workload: a fault healed after the load stopped leaves an empty "after".
  const end = workload.toMs + 1;
  const firstFault = Math.min(...steps.map((s) => s.fault.injectedAtMs), end);
  const lastHeal = Math.min(Math.max(...steps.map((s) => s.fault.healedAtMs ?? end), firstFault), end);
  const baseline = summarizeOperations(records, { fromMs: workload.fromMs, toMs: firstFault });
  const duringFault = summarizeOperations(records, { fromMs: firstFault, toMs: lastHeal });
  const afterHeal = summarizeOperations(records, { fromMs: lastHeal, toMs: end });
  return {
    baseline,
    duringFault,
    afterHeal,
    duringVsBaseline: compareWindows(baseline, duringFault),
    afterVsBaseline: compareWindows(baseline, afterHeal),
    timeline: timeSeries(records, { bucketMs: 100, fromMs: workload.fromMs, toMs: end }),
  };
}

const ms = (value: number | null | undefined): string =>
  value === null || value === undefined ? 'n/a' : `${value.toFixed(0)} ms`;

function checkHypothesis(
  spec: ExperimentSpec,
  steps: readonly StepResult[],
  writes: ExperimentResult['writes'],
  recoveryMs: number | null,
  acknowledged: AcknowledgedWritesResult | null,
): HypothesisCheck[] {
  const h = spec.hypothesis;
  const checks: HypothesisCheck[] = [];
  const bounded = (name: string, limit: number, observed: number | null | undefined): HypothesisCheck => ({
    name,
    expected: `≤ ${limit} ms`,
    observed: ms(observed),
    verdict:
      observed === null || observed === undefined ? 'deviated' : observed <= limit ? 'held' : 'deviated',
  });
  for (const [i, step] of steps.entries()) {
    const label = `${step.step.fault} ${step.fault.targets.join(',')} (step ${i + 1})`;
    if (h.maxElectionMs !== undefined && step.leaderChange) {
      const elected = step.leaderChange.majorityAgreesAtMs;
      const faultAt = effectiveAt(step.fault, step.step);
      // A fault that does not take the leader away needs no election: nothing to check.
      const leaderHit = step.leaderChange.leaderLostAtMs !== undefined;
      checks.push(
        leaderHit
          ? bounded(
              `new leader after ${label}`,
              h.maxElectionMs,
              elected === undefined ? null : elected - faultAt,
            )
          : {
              name: `new leader after ${label}`,
              expected: `≤ ${h.maxElectionMs} ms`,
              observed: 'leader kept',
              verdict: 'held',
            },
      );
    }
    if (h.maxWriteStallMs !== undefined)
      checks.push(
        bounded(`write stall around ${label}`, h.maxWriteStallMs, step.writeStall?.durationMs ?? 0),
      );
  }
  if (h.maxBaselineP99Ms !== undefined)
    checks.push(bounded('write p99 before any fault', h.maxBaselineP99Ms, writes?.baseline.latency.p99));
  if (h.maxRecoveryMs !== undefined)
    checks.push(bounded('recovery after heal (leader + caught up)', h.maxRecoveryMs, recoveryMs));
  if (h.noAcknowledgedWriteLost) {
    checks.push({
      name: 'every acknowledged write survives',
      expected: 'none lost',
      observed: acknowledged?.message ?? 'not checked',
      verdict: acknowledged === null ? 'unknown' : acknowledged.status === 'ok' ? 'held' : 'deviated',
    });
  }
  return checks;
}

/** zod's optional fields come out as `T | undefined`; the lab's options leave them out instead. */
function withoutUndefined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/**
 * When a fault took effect. A process fault acts at once (the signal or freeze is the first
 * thing its injection does; the rest is Docker's bookkeeping); a network fault is in place
 * when its last rule is.
 */
export function effectiveAt(fault: FaultRecord, step: FaultStep): number {
  return ['kill', 'stop', 'pause', 'sigstop'].includes(step.fault)
    ? fault.injectedAtMs
    : fault.injectedAtMs + fault.injectionLatencyMs;
}
