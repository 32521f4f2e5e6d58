import os from 'node:os';
import { EtcdCluster } from '../cluster/etcd-cluster.ts';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { checkAcknowledgedWrites, type AcknowledgedWritesResult } from '../checks/acknowledged-writes.ts';
import { LabError } from '../errors.ts';
import { probeHostCapabilities, type HostCapabilities } from '../faults/capabilities.ts';
import { requireAvailable, type Fault, type FaultHandle, type FaultRecord } from '../faults/fault.ts';
import { actsAtOnce, bringsMemberBack, createFault } from '../faults/catalog.ts';
import { History } from '../history/history.ts';
import type { OperationRecord } from '../history/operation-record.ts';
import {
  agreedLeaderships,
  deriveLeaderChange,
  LeaderTracker,
  type LeaderChange,
  type LeaderObservation,
} from '../measure/leader-tracker.ts';
import {
  compareWindows,
  summarizeOperations,
  timeSeries,
  type OperationsSummary,
  type LatencySummary,
  summarizeLatencies,
  type TimeBucket,
  type WindowComparison,
  unavailabilityWindows,
} from '../measure/latency-stats.ts';
import type { LeaseElectionFailover } from '../measure/lease-election.ts';
import {
  explainElectionFromLogs,
  type ElectionExplanation,
  type MemberLog,
} from '../measure/election-rounds.ts';
import { memberLogs } from '../measure/election-trials.ts';
import { runWorkload, type WorkloadResult } from '../workload/run-workload.ts';
import { clientOperations } from '../workload/retry-policy.ts';
import { RunClock, sleep } from '../util/clock.ts';
import { progress } from '../util/log.ts';
import {
  abortReason,
  endedBy,
  envelope,
  hostInfo,
  runEnvironment,
  type ResultsEnvelope,
  type RunStatus,
} from '../run/results-envelope.ts';
import { checkHypothesis, LEADER_TAKING } from './hypothesis.ts';
import { runLeaseElectionExperiment } from './run-lease-election.ts';
import {
  measureCatchUp,
  observePeerRtt,
  scrapeMetrics,
  successByKind,
  type KindOfInterest,
  type PeerRttObservation,
  type SuccessRatio,
} from './step-measurements.ts';
import {
  isLoadStep,
  type ExperimentSpec,
  type FaultExperimentSpec,
  type FaultStep,
  type LoadStep,
  type TargetedStep,
} from './spec.ts';
import { withoutUndefined } from '../util/without-undefined.ts';

export type { HypothesisCheck, Verdict } from './hypothesis.ts';

export interface StepResult {
  readonly step: FaultStep;
  /** For a load step (traffic, burst) a record of the extra clients: mechanism 'lab-clients'. */
  readonly fault: FaultRecord;
  /** From when the fault was in place to its heal (or the end of the workload). */
  readonly window: { readonly fromMs: number; readonly toMs: number };
  /** Whether the step's targets included the leader of the moment. */
  readonly leaderTargeted: boolean;
  /** The leader and its term when the step was injected (load steps: empty name, term 0). */
  readonly leaderBefore: { readonly name: string; readonly term: number };
  readonly leaderChange: LeaderChange | null;
  /** Faults that took the leader: the election from the members' own logs (rounds, campaigns, refusals, why). */
  readonly election: ElectionExplanation | null;
  /** Majority-agreed new leaderships first seen inside the window. */
  readonly leaderChangesInWindow: number;
  /** Longest gap between successful writes around this fault, relative to it. */
  readonly writeStall: { readonly durationMs: number; readonly startRelativeToFaultMs: number } | null;
  /** The main workload inside the window, as its callers saw it, and against the time before any fault. */
  readonly workload: OperationsSummary | null;
  readonly vsBaseline: WindowComparison | null;
  readonly success: Record<KindOfInterest, SuccessRatio> | null;
  /** The clients of the other load steps (traffic, burst), operations started inside the window; null without any. */
  readonly loadSuccess: SuccessRatio | null;
  /** The workload inside the window by the member that answered (successful operations only; member names). */
  readonly byAnsweringMember: Readonly<Record<string, LatencySummary>>;
  /** Process faults: from the heal until the member had applied what was committed while it was away. */
  readonly catchUpMs: number | null | undefined;
  /** Delay faults: what etcd's metrics and the lab's probe saw of the slow links. */
  readonly peerRtt: PeerRttObservation | null;
  /** Load steps: the extra clients' own operations, as their callers saw them. */
  readonly load: OperationsSummary | null;
}

/**
 * What an experiment adds to the results envelope (src/run/results-envelope.ts): its spec, the
 * steps, the workload in windows around the faults, recovery and the lost-writes check.
 */
export interface ExperimentPayload {
  readonly experiment: ExperimentSpec;
  readonly steps: readonly StepResult[];
  /** The main workload as its callers saw it (retries folded), in windows around the faults. */
  readonly workload: {
    readonly baseline: OperationsSummary;
    readonly duringFault: OperationsSummary;
    readonly afterHeal: OperationsSummary;
    readonly duringVsBaseline: WindowComparison;
    readonly afterVsBaseline: WindowComparison;
    readonly timeline: readonly TimeBucket[];
    /** Calls made, retries included. */
    readonly attempts: number;
  } | null;
  readonly recoveryMs: number | null;
  readonly acknowledgedWrites: AcknowledgedWritesResult | null;
  readonly leaderObservations: readonly LeaderObservation[];
  /** Lease-election experiments: one failover per TTL and trial. */
  readonly leaseElection: readonly LeaseElectionFailover[] | null;
}

/** An experiment's result.json: the envelope (status, verdict, environment, checks) and the payload. */
export type ExperimentResult = ResultsEnvelope<'experiment'> & ExperimentPayload;

export interface RunOptions {
  readonly image?: string;
  readonly seed?: number;
  readonly signal?: AbortSignal;
  /** Receives the history as it grows, e.g. to stream it to disk. */
  readonly history?: History;
}

/** Ids of the main workload's clients; load steps use `s<step>c<i>`. */
const MAIN_CLIENTS = /^c\d+$/;

export function startCluster(spec: ExperimentSpec, options: RunOptions): Promise<StartedEtcdCluster> {
  const builder = new EtcdCluster()
    .withMembers(spec.cluster.members)
    .withEtcdOptions(withoutUndefined(spec.cluster.etcd))
    .withDataDir(spec.cluster.dataDir);
  const image = options.image ?? spec.cluster.image;
  if (image !== undefined) builder.withImage(image);
  progress(`${spec.name}: starting a ${spec.cluster.members}-member cluster`);
  return builder.start();
}

/**
 * Runs one experiment (validated by `validateExperiment`, overrides applied). What the
 * cluster does wrong becomes a deviated check; only the lab's own failures make the status 'failed'.
 */
export function runExperiment(
  spec: ExperimentSpec,
  options: RunOptions = {},
): Promise<{ result: ExperimentResult; history: History }> {
  return spec.kind === 'lease-election'
    ? runLeaseElectionExperiment(spec, options)
    : runFaultExperiment(spec, options);
}

interface ActiveStep {
  readonly index: number;
  readonly step: FaultStep;
  readonly handle: FaultHandle | null;
  readonly leaderBefore: { readonly id: string; readonly name: string; readonly term: number };
  record?: FaultRecord;
  catchUpMs?: number | null;
  peerRtt?: PeerRttObservation | null;
}

/**
 * Cluster up, steady state, the workload with the method's steps at their times, heal,
 * recovery, then measurements and the hypothesis checks.
 */
async function runFaultExperiment(
  spec: FaultExperimentSpec,
  options: RunOptions,
): Promise<{ result: ExperimentResult; history: History }> {
  const clock = new RunClock();
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  const history = options.history ?? new History();
  // Every fault is built and checked against this host before anything starts: a missing
  // mechanism is refused here, with the reason, not halfway through the run. Probing once up
  // front also keeps the probe's seconds out of the first injection.
  const caps = await probeHostCapabilities();
  const faults = new Map<number, Fault>();
  spec.method.forEach((step, index) => {
    if (isLoadStep(step)) return;
    const fault = faultFor(step, options.seed);
    requireAvailable(fault, caps);
    faults.set(index, fault);
  });
  const cluster = await startCluster(spec, options);
  const tracker = new LeaderTracker(cluster, clock, { intervalMs: 20 });
  let status: RunStatus = 'completed';
  let error: string | undefined;
  const active: ActiveStep[] = [];
  let workloadWindow = { fromMs: 0, toMs: 0 };
  let attempts = 0;
  let recoveryMs: number | null = null;
  let acknowledged: AcknowledgedWritesResult | null = null;
  try {
    await cluster.waitForStableLeader();
    tracker.start();
    progress(`${spec.name}: steady state reached, starting the workload`);
    let onStart: (startedMs: number) => void = () => undefined;
    const started = new Promise<number>((resolve) => (onStart = resolve));
    const w = spec.workload;
    const run = runWorkload(cluster, {
      onStart,
      ...(w.mode === 'open-loop'
        ? { mode: 'open-loop', ratePerSecond: w.ratePerSecond ?? 1 }
        : { mode: 'closed-loop' }),
      clients: w.clients,
      durationMs: w.durationMs,
      keyCount: w.keyCount,
      valueBytes: w.valueBytes,
      callTimeoutMs: w.callTimeoutMs,
      connectTo: w.connectTo,
      ...(w.retry === undefined ? {} : { retry: w.retry }),
      keyPrefix: `${spec.name}/`,
      mix: withoutUndefined(w.mix),
      seed: options.seed ?? 1,
      clock,
      history,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (p) =>
        progress(
          `${spec.name}: ${(p.elapsedMs / 1000).toFixed(0)}/${(w.durationMs / 1000).toFixed(0)} s, ${p.opsPerSecond.toFixed(0)} ops/s, ok ${p.ok}, failed ${p.fail}, indeterminate ${p.indeterminate}${errorSummary(p.errors)}`,
        ),
    });
    // Steps are timed from the moment the workload starts sending (after its warm-up).
    const method = started.then((workloadStart) =>
      runMethod(spec, { cluster, clock, caps, faults, workloadStart, active, history }, options),
    );
    const [workload] = await Promise.all([run, method]);
    workloadWindow = { fromMs: workload.startedMs, toMs: workload.endedMs };
    attempts = workload.records.length;
    if (workload.aborted) {
      status = 'aborted';
      error = options.signal === undefined ? 'aborted' : abortReason(options.signal);
    }

    for (const a of active) await a.handle?.heal();
    progress(`${spec.name}: workload done, waiting for recovery`);
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
    ({ status, error } = endedBy(caught, options.signal));
  } finally {
    await tracker.stop();
    for (const a of active) await a.handle?.heal().catch(() => undefined);
  }

  const environment = runEnvironment(cluster.describe(), hostInfo(loadAtStart), {
    mechanisms: active.map((a) => a.handle?.mechanism ?? a.record?.mechanism ?? 'none'),
  });
  // The members' own logs explain every election (rounds, campaigns, refused votes); read once, at the end.
  const logs =
    status === 'failed' || !active.some((a) => LEADER_TAKING.has(a.step.fault))
      ? []
      : await memberLogs(cluster, cluster.members).catch(() => []);
  await cluster.dispose();

  const records = [...history];
  const mainOperations = clientOperations(records.filter((r) => MAIN_CLIENTS.test(r.clientId)));
  const workload =
    status === 'failed' || workloadWindow.toMs === 0
      ? null
      : { ...windowsOf(mainOperations, active, workloadWindow), attempts };
  const leaderships = agreedLeaderships(tracker.observations, spec.cluster.members);
  const steps = active
    .filter((a) => a.handle !== null || a.record !== undefined)
    .map((a) =>
      stepResult(a, {
        records,
        mainOperations,
        workloadWindow,
        baseline: workload?.baseline ?? null,
        observations: tracker.observations,
        leaderships,
        members: spec.cluster.members,
        memberNames: new Map(Object.entries((environment.memberNames ?? {}) as Record<string, string>)),
        logs,
        clock,
        faultTimes: active.flatMap((a) =>
          a.handle === null ? [] : [effectiveAt(a.handle.record(), a.step)],
        ),
      }),
    );
  const checks = checkHypothesis(spec, steps, workload, recoveryMs, acknowledged, {
    baselineLatenciesMs: baselineLatencies(mainOperations, active, workloadWindow),
  });
  const result: ExperimentResult = {
    ...envelope({
      kind: 'experiment',
      name: spec.name,
      title: spec.title,
      status,
      error,
      startedAt,
      durationMs: clock.now(),
      environment,
      checks,
    }),
    experiment: spec,
    steps,
    workload,
    recoveryMs,
    acknowledgedWrites: acknowledged,
    leaderObservations: tracker.observations,
    leaseElection: null,
  };
  return { result, history };
}

function errorSummary(errors: Readonly<Record<string, number>>): string {
  const top = Object.entries(errors)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3);
  return top.length === 0 ? '' : ` (${top.map(([k, n]) => `${k} ${n}`).join(', ')})`;
}

interface MethodContext {
  readonly cluster: StartedEtcdCluster;
  readonly clock: RunClock;
  readonly caps: HostCapabilities;
  readonly faults: ReadonlyMap<number, Fault>;
  readonly workloadStart: number;
  readonly active: ActiveStep[];
  readonly history: History;
}

async function runMethod(spec: FaultExperimentSpec, m: MethodContext, options: RunOptions): Promise<void> {
  const { cluster, clock, workloadStart, active, history } = m;
  const { signal } = options;
  await Promise.all(
    spec.method.map(async (step, index) => {
      await sleep(Math.max(0, workloadStart + step.at - clock.now()), signal);
      if (isLoadStep(step)) {
        // Extra clients need no leader to start; waiting for one would delay them in exactly the runs that matter.
        const entry: ActiveStep = { index, step, handle: null, leaderBefore: { id: '', name: '', term: 0 } };
        active.push(entry);
        entry.record = await runLoadStep(spec, cluster, clock, step, index, history, options);
        return;
      }
      // Roles resolve against the leader of the moment, and the election after the fault is measured from it.
      const { leader, term } = await cluster.waitForStableLeader({ timeoutMs: 30_000 });
      const leaderBefore = { id: leader.memberId, name: leader.name, term };
      progress(`${spec.name}: step ${index + 1}: ${step.fault} on ${String(step.target)}`);
      const metricsBefore = step.fault === 'delay' ? await scrapeMetrics(cluster) : null;
      const fault = m.faults.get(index) ?? faultFor(step, options.seed);
      const handle = await fault.inject({ cluster, clock, caps: m.caps, seed: options.seed ?? 1 });
      const entry: ActiveStep = { index, step, handle, leaderBefore };
      active.push(entry);
      if (step.for === undefined) return;
      await sleep(step.for, signal);
      if (metricsBefore !== null)
        entry.peerRtt = await observePeerRtt(cluster, handle.targets, metricsBefore);
      progress(`${spec.name}: step ${index + 1}: healing ${step.fault}`);
      await handle.heal();
      if (bringsMemberBack(step.fault)) {
        const [target] = handle.targets;
        const healedAt = handle.record().healedAtMs ?? clock.now();
        if (target !== undefined) {
          entry.catchUpMs = await measureCatchUp(
            cluster,
            target,
            clock,
            healedAt,
            spec.hypothesis.maxCatchUpMs ?? 30_000,
          );
        }
      }
    }),
  );
}

/** Extra clients for a while (traffic) or for a number of operations (burst), in the same history. */
async function runLoadStep(
  spec: FaultExperimentSpec,
  cluster: StartedEtcdCluster,
  clock: RunClock,
  step: LoadStep,
  index: number,
  history: History,
  options: RunOptions,
): Promise<FaultRecord> {
  progress(`${spec.name}: step ${index + 1}: ${step.fault} with ${step.clients} clients`);
  let startedMs = clock.now();
  const common = {
    clients: step.clients,
    keyPrefix: `${spec.name}/s${index + 1}/`,
    clientIdPrefix: `s${index + 1}c`,
    callTimeoutMs: spec.workload.callTimeoutMs,
    seed: (options.seed ?? 1) + index + 1,
    clock,
    history,
    onStart: (at: number) => (startedMs = at),
    ...(step.retry === undefined ? {} : { retry: step.retry }),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const run: WorkloadResult =
    step.fault === 'burst'
      ? await runWorkload(cluster, {
          ...common,
          mode: 'closed-loop',
          operations: step.operations,
          mix: { put: 1 },
        })
      : await runWorkload(cluster, {
          ...common,
          ...(step.ratePerSecond === undefined
            ? { mode: 'closed-loop' as const }
            : { mode: 'open-loop' as const, ratePerSecond: step.ratePerSecond }),
          durationMs: step.for,
          mix: withoutUndefined(step.mix ?? { put: 1 }),
        });
  progress(`${spec.name}: step ${index + 1}: ${step.fault} done, ${run.records.length} calls`);
  return {
    faultId: `${step.fault}-${index + 1}`,
    description: { fault: step.fault, target: 'cluster', clients: step.clients },
    mechanism: `lab-clients-${run.mode}`,
    targets: [],
    injectedAtMs: startedMs,
    injectionLatencyMs: 0,
    healedAtMs: run.endedMs,
    healLatencyMs: 0,
    healError: null,
    endedBy: 'heal',
    details: { calls: run.records.length, clientIdPrefix: common.clientIdPrefix },
  };
}

interface StepContext {
  readonly records: readonly OperationRecord[];
  readonly mainOperations: readonly OperationRecord[];
  readonly workloadWindow: { readonly fromMs: number; readonly toMs: number };
  readonly baseline: OperationsSummary | null;
  readonly observations: readonly LeaderObservation[];
  readonly leaderships: ReturnType<typeof agreedLeaderships>;
  readonly members: number;
  /** Decimal member ID → member name. */
  readonly memberNames: ReadonlyMap<string, string>;
  /** When each fault step (not load steps) took effect. */
  readonly faultTimes: readonly number[];
  /** Every member's log at the end of the run (empty when not read). */
  readonly logs: readonly MemberLog[];
  readonly clock: RunClock;
}

function stepResult(a: ActiveStep, ctx: StepContext): StepResult {
  const fault = a.handle?.record() ?? a.record;
  if (fault === undefined) throw new LabError(`step ${a.index + 1} has no record`);
  const faultAt = effectiveAt(fault, a.step);
  const end = Math.min(fault.healedAtMs ?? ctx.workloadWindow.toMs, ctx.workloadWindow.toMs);
  const window = { fromMs: faultAt, toMs: Math.max(faultAt, end) };
  const leaderTargeted = fault.targets.includes(a.leaderBefore.name);
  // The longest gap between successful writes that overlaps this step's window, up to the next
  // fault: a heal can return after the next fault went in (a restart takes a while), and that
  // fault's stall is its own.
  const nextFaultAt = Math.min(...ctx.faultTimes.filter((t) => t > faultAt), Infinity);
  const stallEnd = Math.min(window.toMs, nextFaultAt);
  const stall = unavailabilityWindows(
    ctx.mainOperations.filter((r) => r.kind === 'put'),
    ctx.workloadWindow,
  ).find((gap) => gap.endMs > faultAt && gap.startMs < stallEnd);
  const inWindow = summarizeOperations(ctx.mainOperations, window);
  const loadPrefix = `s${a.index + 1}c`;
  const leaderChange = isLoadStep(a.step)
    ? null
    : deriveLeaderChange(ctx.observations, {
        sinceMs: fault.injectedAtMs,
        previousLeaderId: a.leaderBefore.id,
        previousTerm: a.leaderBefore.term,
        clusterSize: ctx.members,
      });
  const election =
    leaderTargeted && LEADER_TAKING.has(a.step.fault) && ctx.logs.length > 0
      ? explainElectionFromLogs(
          // An isolated old leader keeps campaigning on its own, in terms nobody else is in.
          a.step.fault === 'isolate' ? ctx.logs.filter((l) => !fault.targets.includes(l.member)) : ctx.logs,
          {
            faultAtWallMs: ctx.clock.toWall(faultAt),
            previousTerm: a.leaderBefore.term,
            ...(leaderChange?.majorityAgreesAtMs === undefined
              ? {}
              : { electedAtWallMs: ctx.clock.toWall(leaderChange.majorityAgreesAtMs) }),
          },
        )
      : null;
  return {
    step: a.step,
    fault,
    window,
    leaderTargeted,
    leaderBefore: { name: a.leaderBefore.name, term: a.leaderBefore.term },
    leaderChange,
    election,
    leaderChangesInWindow: ctx.leaderships.filter(
      (l) => l.agreedAtMs > window.fromMs && l.agreedAtMs <= window.toMs,
    ).length,
    writeStall: stall
      ? { durationMs: stall.durationMs, startRelativeToFaultMs: stall.startMs - faultAt }
      : null,
    workload: inWindow,
    vsBaseline: ctx.baseline === null ? null : compareWindows(ctx.baseline, inWindow),
    success: successByKind(ctx.mainOperations, window),
    byAnsweringMember: latencyByAnsweringMember(ctx.mainOperations, window, ctx.memberNames),
    loadSuccess: loadSuccessIn(ctx.records, window, loadPrefix),
    catchUpMs: a.catchUpMs,
    peerRtt: a.peerRtt ?? null,
    load: isLoadStep(a.step)
      ? summarizeOperations(clientOperations(ctx.records.filter((r) => r.clientId.startsWith(loadPrefix))))
      : null,
  };
}

function latencyByAnsweringMember(
  operations: readonly OperationRecord[],
  window: { readonly fromMs: number; readonly toMs: number },
  memberNames: ReadonlyMap<string, string>,
): Record<string, LatencySummary> {
  const latencies = new Map<string, number[]>();
  for (const o of operations) {
    if (
      o.outcome !== 'ok' ||
      o.memberId === undefined ||
      o.startMs < window.fromMs ||
      o.startMs >= window.toMs
    )
      continue;
    const name = memberNames.get(o.memberId) ?? o.memberId;
    latencies.set(name, [...(latencies.get(name) ?? []), o.endMs - o.startMs]);
  }
  return Object.fromEntries(
    [...latencies].sort(([a], [b]) => a.localeCompare(b)).map(([name, l]) => [name, summarizeLatencies(l)]),
  );
}

function loadSuccessIn(
  records: readonly OperationRecord[],
  window: { readonly fromMs: number; readonly toMs: number },
  ownPrefix: string,
): SuccessRatio | null {
  const others = records.filter((r) => /^s\d+c\d+$/.test(r.clientId) && !r.clientId.startsWith(ownPrefix));
  const ratio = successByKind(clientOperations(others), window).all;
  return ratio.total === 0 ? null : ratio;
}

/** The step's fault, from the catalog entry of its kind. */
function faultFor(step: TargetedStep, seed = 1): Fault {
  return createFault(step.fault, step, seed);
}

async function readFinalValues(cluster: StartedEtcdCluster, prefix: string): Promise<Map<string, string>> {
  const client = cluster.client({ retries: true, callTimeoutMs: 10_000 });
  try {
    const all = await client.getAll().prefix(prefix).strings();
    return new Map(Object.entries(all));
  } finally {
    client.close();
  }
}

/** Latencies of the main workload's calls that returned before the first fault (a failed call: +∞). */
function baselineLatencies(
  operations: readonly OperationRecord[],
  active: readonly ActiveStep[],
  workload: { fromMs: number; toMs: number },
): number[] {
  const records = active.map((a) => a.handle?.record() ?? a.record).filter((r) => r !== undefined);
  const firstFault = Math.min(...records.map((r) => r.injectedAtMs), workload.toMs + 1);
  return operations
    .filter((o) => o.endMs >= workload.fromMs && o.endMs < firstFault)
    .map((o) => (o.outcome === 'ok' ? o.endMs - o.startMs : Infinity));
}

function windowsOf(
  operations: readonly OperationRecord[],
  active: readonly ActiveStep[],
  workload: { fromMs: number; toMs: number },
): Omit<NonNullable<ExperimentResult['workload']>, 'attempts'> {
  // Windows are clamped to the workload: a fault healed after the load stopped leaves an empty "after".
  const end = workload.toMs + 1;
  const records = active.map((a) => a.handle?.record() ?? a.record).filter((r) => r !== undefined);
  const firstFault = Math.min(...records.map((r) => r.injectedAtMs), end);
  const lastHeal = Math.min(Math.max(...records.map((r) => r.healedAtMs ?? end), firstFault), end);
  const baseline = summarizeOperations(operations, { fromMs: workload.fromMs, toMs: firstFault });
  const duringFault = summarizeOperations(operations, { fromMs: firstFault, toMs: lastHeal });
  const afterHeal = summarizeOperations(operations, { fromMs: lastHeal, toMs: end });
  return {
    baseline,
    duringFault,
    afterHeal,
    duringVsBaseline: compareWindows(baseline, duringFault),
    afterVsBaseline: compareWindows(baseline, afterHeal),
    timeline: timeSeries(operations, { bucketMs: 100, fromMs: workload.fromMs, toMs: end }),
  };
}

/**
 * When a fault took effect: from the start of its injection for a kind that acts at once (a
 * signal or freeze is the first thing its injection does; the rest is Docker's bookkeeping),
 * else when it is in place (a network fault's last rule); extra load from when its clients start
 * sending. See FaultTraits.actsAt in src/faults/catalog.ts.
 */
export function effectiveAt(fault: FaultRecord, step: FaultStep): number {
  return actsAtOnce(step.fault) ? fault.injectedAtMs : fault.injectedAtMs + fault.injectionLatencyMs;
}
