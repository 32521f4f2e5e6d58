import { setMaxListeners } from 'node:events';
import os from 'node:os';
import type { StartedEtcdCluster } from '../../cluster/started-etcd-cluster.ts';
import { checkAcknowledgedWrites, type AcknowledgedWritesResult } from '../../checks/acknowledged-writes.ts';
import {
  checkRecordedHistory,
  type InitialStore,
  type LinearizabilityOutcome,
} from '../../checks/linearizable-history.ts';
import { probeHostCapabilities } from '../../faults/capabilities.ts';
import { FaultError } from '../../errors.ts';
import type { Fault } from '../../faults/fault.ts';
import { History } from '../../history/history.ts';
import { agreedLeaderships, LeaderTracker } from '../../measure/leader-tracker.ts';
import { memberLogs } from '../../measure/election-explain.ts';
import { runWorkload } from '../../workload/run-workload.ts';
import type { WatchRecorder } from '../../workload/watch-recorder.ts';
import { checkRecordedWatches, watchTruthProblem, type WatchOutcome } from '../../checks/watch-history.ts';
import { GUARANTEES } from '../../checks/watch/types.ts';
import { finishWatchers, startWatchers, type WatchRecording } from './run-watchers.ts';
import { clientOperations } from '../../workload/retry-policy.ts';
import { RunClock, sleep } from '../../util/clock.ts';
import { progress } from '../../util/log.ts';
import { withoutUndefined } from '../../util/without-undefined.ts';
import {
  abortReason,
  endedBy,
  envelope,
  hostInfo,
  runEnvironment,
  type RunStatus,
} from '../../run/results-envelope.ts';
import type { ActiveStep, ExperimentResult, NotRunStep, RunOptions } from './experiment-types.ts';
import { checkHypothesis, LEADER_TAKING } from './hypothesis.ts';
import { faultFor, runMethod } from './run-method.ts';
import { startCluster } from './start-cluster.ts';
import { baselineLatencies, isWorkloadOperation, stepResult, windowsOf } from './step-analysis.ts';
import { effectiveAt } from './step-timing.ts';
import { isLoadStep, type FaultExperimentSpec } from './spec.ts';

/**
 * Cluster up, steady state, the workload with the method's steps at their times, heal,
 * recovery, then measurements and the hypothesis checks.
 */
export async function runFaultExperiment(
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
  // A Ctrl-C during the probes or the cluster's start stops the run there: before a cluster
  // exists nothing is written (the CLI says so); once it exists, the try below records 'aborted'.
  options.signal?.throwIfAborted();
  // Every step waits for its time on this signal, and watchers and clients listen too: a long
  // method (a random schedule of 15 faults) passes Node's default of 10 listeners, which is no leak.
  if (options.signal !== undefined) setMaxListeners(spec.method.length + 32, options.signal);
  const caps = await probeHostCapabilities();
  options.signal?.throwIfAborted();
  const faults = new Map<number, Fault>();
  const refused: string[] = [];
  spec.method.forEach((step, index) => {
    if (isLoadStep(step)) return;
    const fault = faultFor(step, options.seed);
    const check = fault.check(caps);
    if (!check.available) refused.push(`step ${index + 1} (method.${index}, ${step.fault}): ${check.detail}`);
    faults.set(index, fault);
  });
  // Every step this host cannot produce, each with its reason, not just the first.
  if (refused.length > 0) {
    throw new FaultError(
      `${refused.length === 1 ? 'a step' : `${refused.length} steps`} cannot be injected on this host:\n  ${refused.join('\n  ')}`,
    );
  }
  const cluster = await startCluster(spec, options);
  const tracker = new LeaderTracker(cluster, clock, { intervalMs: 20 });
  let status: RunStatus = 'completed';
  let error: string | undefined;
  const active: ActiveStep[] = [];
  const notRun: NotRunStep[] = [];
  let workloadWindow = { fromMs: 0, toMs: 0 };
  let attempts = 0;
  let recoveryMs: number | null = null;
  let acknowledged: AcknowledgedWritesResult | null = null;
  const linearizable = spec.hypothesis.linearizable;
  const checkLinearizable = linearizable !== undefined && linearizable !== false;
  let initialStore: InitialStore | null = null;
  const prefix = `${spec.name}/`;
  let recorder: WatchRecorder | null = null;
  let watchRecording: WatchRecording | null = null;
  try {
    options.signal?.throwIfAborted();
    await cluster.waitForStableLeader();
    options.signal?.throwIfAborted();
    // The linearizability check starts from the store as it is now: nothing writes to the
    // cluster between this read and the workload's first call.
    if (checkLinearizable || spec.workload.watchers !== undefined)
      initialStore = await readInitialStore(cluster, prefix);
    recorder = await startWatchers(spec, cluster, clock, initialStore?.revision ?? null);
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
      clientRole: { of: 'workload' },
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
      runMethod(spec, { cluster, clock, caps, faults, workloadStart, active, notRun, history }, options),
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
    if (recorder !== null) {
      progress(`${spec.name}: stopping the watchers, reading the revisions the history leaves unknown`);
      watchRecording = await finishWatchers(
        recorder,
        cluster,
        [...history],
        prefix,
        initialStore?.revision ?? null,
      );
      recorder = null;
    }
    acknowledged = checkAcknowledgedWrites(history, await readFinalValues(cluster, `${spec.name}/`));
  } catch (caught) {
    ({ status, error } = endedBy(caught, options.signal));
  } finally {
    await tracker.stop();
    // A run that stopped early keeps what its watchers received (nothing resolved by reads).
    if (recorder !== null) {
      const watchers = await recorder.stop(null).catch(() => []);
      watchRecording = { watchers, finalRevision: null, resolved: { revisions: [], events: [] } };
    }
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
  let watch: WatchOutcome | null = null;
  if (watchRecording !== null) {
    history.watches.push(...watchRecording.watchers);
    const asked = spec.hypothesis.watch;
    if (workloadWindow.toMs !== 0) {
      progress(`${spec.name}: checking the watchers' streams`);
      watch = checkRecordedWatches(records, watchRecording.watchers, {
        prefix,
        initialRevision: initialStore?.revision ?? null,
        finalRevision: watchRecording.finalRevision,
        resolved: watchRecording.resolved,
        guarantees: Array.isArray(asked) ? asked : GUARANTEES,
      });
      progress(`${spec.name}: watch: ${watch.message}`);
    }
  }
  // Pure CPU, after the cluster is gone: the search holds the event loop for up to its time limit.
  const unusable = (why: string | undefined) => (why === undefined ? {} : { unusable: why });
  let linearizability: LinearizabilityOutcome | null = null;
  if (checkLinearizable && workloadWindow.toMs !== 0) {
    progress(`${spec.name}: checking the history for linearizability`);
    linearizability = checkRecordedHistory(records, {
      initial: initialStore,
      // The watchers' events resolve indeterminate writes, unless their streams were found broken.
      ...(watchRecording === null || watch === null
        ? {}
        : { watch: { watchers: watchRecording.watchers, prefix, ...unusable(watchTruthProblem(watch)) } }),
      ...(typeof linearizable === 'object' ? { timeLimitMs: linearizable.timeLimitMs } : {}),
    });
    progress(`${spec.name}: ${linearizability.message}`);
  }
  const mainOperations = clientOperations(records.filter(isWorkloadOperation));
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
  // A run that did not complete: what it never measured is inconclusive, not deviated.
  const checks = checkHypothesis(
    spec,
    steps,
    workload,
    recoveryMs,
    acknowledged,
    { baselineLatenciesMs: baselineLatencies(mainOperations, active, workloadWindow) },
    status,
    linearizability,
    watch,
  );
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
    notRun,
    workload,
    recoveryMs,
    acknowledgedWrites: acknowledged,
    linearizability,
    watch,
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

/**
 * The store's revision and how many keys exist under `prefix`, from one linearizable range read
 * (limit 1: `count` is the total). Null when the read fails: the check then infers the revision
 * from the first response (see src/checks/linearizable-history.ts).
 */
async function readInitialStore(cluster: StartedEtcdCluster, prefix: string): Promise<InitialStore | null> {
  const client = cluster.client({ retries: true, callTimeoutMs: 10_000 });
  try {
    const response = await client.getAll().prefix(prefix).limit(1).exec();
    return { revision: Number(response.header.revision), keys: Number(response.count), prefix };
  } catch {
    return null;
  } finally {
    client.close();
  }
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
