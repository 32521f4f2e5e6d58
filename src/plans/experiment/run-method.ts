import type { StartedEtcdCluster } from '../../cluster/started-etcd-cluster.ts';
import type { HostCapabilities } from '../../faults/capabilities.ts';
import type { Fault, FaultRecord } from '../../faults/fault.ts';
import { bringsMemberBack, createFault, measuresPeerRtt } from '../../faults/catalog.ts';
import type { History } from '../../history/history.ts';
import { runWorkload, type WorkloadResult } from '../../workload/run-workload.ts';
import { sleep, type RunClock } from '../../util/clock.ts';
import { progress } from '../../util/log.ts';
import { withoutUndefined } from '../../util/without-undefined.ts';
import type { ActiveStep, NotRunStep, RunOptions } from './experiment-types.ts';
import { effectiveAt } from './step-timing.ts';
import { measureCatchUp, observePeerRtt, scrapeMetrics } from './step-measurements.ts';
import {
  isLoadStep,
  type FaultExperimentSpec,
  type FaultStep,
  type LoadStep,
  type TargetedStep,
} from './spec.ts';

/**
 * The method's schedule: each step at its time from the workload's start, a fault injected
 * against the leader of the moment and healed after its `for`, a load step's extra clients run
 * in the same history. Each step is appended to `active` as it goes in, so the runner can heal
 * whatever is in place when the run ends early.
 */

export interface MethodContext {
  readonly cluster: StartedEtcdCluster;
  readonly clock: RunClock;
  readonly caps: HostCapabilities;
  readonly faults: ReadonlyMap<number, Fault>;
  readonly workloadStart: number;
  readonly active: ActiveStep[];
  /** Steps that were not run, with why (a repetition whose previous one ended too late). */
  readonly notRun: NotRunStep[];
  readonly history: History;
}

export async function runMethod(
  spec: FaultExperimentSpec,
  m: MethodContext,
  options: RunOptions,
): Promise<void> {
  const { cluster, clock, workloadStart, active, history } = m;
  const { signal } = options;
  const previous = previousOccurrences(spec.method);
  const workloadEnd = workloadStart + spec.workload.durationMs;
  const finished: Promise<void>[] = [];
  spec.method.forEach((step, index) => {
    finished[index] = (async () => {
      const plannedAt = workloadStart + step.at;
      await sleep(Math.max(0, plannedAt - clock.now()), signal);
      if (isLoadStep(step)) {
        // Extra clients need no leader to start; waiting for one would delay them in exactly the runs that matter.
        const entry: ActiveStep = { index, step, handle: null, leaderBefore: { id: '', name: '', term: 0 } };
        active.push(entry);
        entry.record = await runLoadStep(spec, cluster, clock, step, index, history, options);
        return;
      }
      // A repetition starts only once the previous one is over: healed, its member back and caught
      // up. Under load Docker's kill and start take seconds, and a leader kill that lands while the
      // last killed member is still down takes a majority — an outage, not the election measured.
      const before = previous[index];
      if (before !== undefined) await finished[before]!.catch(() => undefined);
      signal?.throwIfAborted(); // the previous one may have ended because the run was stopped
      // Roles resolve against the leader of the moment, and the election after the fault is measured from it.
      const { leader, term } = await cluster.waitForStableLeader({ timeoutMs: 30_000 });
      signal?.throwIfAborted();
      const leaderBefore = { id: leader.memberId, name: leader.name, term };
      const startedLateMs = Math.max(0, clock.now() - plannedAt);
      // Only a repetition is dropped: the plan's own steps run as written, however late.
      if (before !== undefined && clock.now() + (step.for ?? 0) > workloadEnd) {
        const reason = `the previous repetition ended only ${Math.round(startedLateMs)} ms after this one's time; it would not end inside the workload`;
        progress(`${spec.name}: step ${index + 1}: not run: ${reason}`);
        m.notRun.push({ index, at: step.at, reason });
        return;
      }
      progress(
        `${spec.name}: step ${index + 1}: ${step.fault} on ${String(step.target)}${startedLateMs >= 1_000 ? ` (${(startedLateMs / 1000).toFixed(1)} s late: waited for the cluster)` : ''}`,
      );
      const metricsBefore = measuresPeerRtt(step.fault) ? await scrapeMetrics(cluster) : null;
      const fault = m.faults.get(index) ?? faultFor(step, options.seed);
      const handle = await fault.inject({ cluster, clock, caps: m.caps, seed: options.seed ?? 1 });
      const entry: ActiveStep = { index, step, handle, leaderBefore, startedLateMs };
      active.push(entry);
      if (step.for === undefined) return;
      // `for` counts from when the fault took effect: a kill's injection returns only after
      // Docker's teardown, seconds under load, which would otherwise lengthen the outage.
      await sleep(Math.max(0, effectiveAt(handle.record(), step) + step.for - clock.now()), signal);
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
    })();
  });
  await Promise.all(finished);
}

/**
 * For each step, the nearest earlier step that is the same fault on the same target with the same
 * settings at another time — the repetitions a `repeat` expands into, or the same step written
 * twice. Such occurrences run one after the other, never overlapping.
 */
export function previousOccurrences(method: readonly FaultStep[]): (number | undefined)[] {
  const lastByShape = new Map<string, number>();
  return method.map((step, index) => {
    const { at: _at, ...rest } = step;
    const shape = JSON.stringify(rest, Object.keys(rest).sort());
    const before = isLoadStep(step) ? undefined : lastByShape.get(shape);
    lastByShape.set(shape, index);
    return before;
  });
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
    clientRole: { of: 'load-step', step: index + 1 } as const,
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
    tookEffectAtMs: null,
    healedAtMs: run.endedMs,
    healLatencyMs: 0,
    healError: null,
    endedBy: 'heal',
    details: { calls: run.records.length, clientIdPrefix: common.clientIdPrefix },
  };
}

/** The step's fault, from the catalog entry of its kind. */
export function faultFor(step: TargetedStep, seed = 1): Fault {
  return createFault(step.fault, step, seed);
}
