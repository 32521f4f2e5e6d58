// One cell's measurements against its running cluster (quiet windows, partition-and-heal
// trials); the figures are computed from the readings by cell-analysis.ts.
import { ETCD_DEFAULTS } from '../../cluster/etcd-options.ts';
import type { StartedEtcdCluster } from '../../cluster/started-etcd-cluster.ts';
import type { FaultHandle } from '../../faults/fault.ts';
import { isolate } from '../../faults/network/partition.ts';
import { raftEvents } from '../../measure/election-log.ts';
import { longestUnavailability } from '../../measure/latency-stats.ts';
import { metricValue } from '../../measure/metrics.ts';
import { sleep, type RunClock } from '../../util/clock.ts';
import { runWorkload, type WorkloadResult } from '../../workload/run-workload.ts';
import {
  changesBetween,
  differences,
  largest,
  summarizeQuietWindows,
  type CounterReading,
} from './cell-analysis.ts';
import type { HealTrial, QuietWindowResult } from './cell-result.ts';
import type { SweepCell, SweepFault } from './spec.ts';

const LEADER_CHANGES = 'etcd_server_leader_changes_seen_total';

/**
 * Runs one write load through `quietWindows` windows back to back and reads the leader-change
 * counters and the term at every window boundary, so bursts of elections show up per window.
 */
export async function observeQuietWindows(
  cluster: StartedEtcdCluster,
  cell: SweepCell,
  clock: RunClock,
  signal: AbortSignal | undefined,
  onWindow: (window: number, leaderChanges: number | null, termIncrease: number | null) => void,
): Promise<QuietWindowResult> {
  const names = cluster.members.map((m) => m.name);
  const totalMs = cell.quietWindows * cell.quietWindowMs;
  const readings: CounterReading[] = [];
  const read = async () => {
    const atMs = clock.now();
    const [changes, term] = await Promise.all([
      leaderChangesByMember(cluster, names, { attempts: 3 }),
      highestTerm(cluster, { attempts: 3 }),
    ]);
    readings.push({ atMs, changes, term });
  };
  await read();
  let loadStarted: (atMs: number) => void = () => undefined;
  const started = new Promise<number>((resolve) => (loadStarted = resolve));
  const load = writeLoad(cluster, cell, clock, totalMs, signal, (atMs) => loadStarted(atMs));
  const startedMs = await Promise.race([started, load.then((w) => w.startedMs)]);
  for (let window = 1; window <= cell.quietWindows; window++) {
    await sleep(Math.max(0, startedMs + window * cell.quietWindowMs - clock.now()), signal);
    await read();
    const [start, end] = readings.slice(-2) as [CounterReading, CounterReading];
    const { leaderChanges, termIncrease } = changesBetween(start, end);
    onWindow(window, leaderChanges, termIncrease);
  }
  const workload = await load;
  signal?.throwIfAborted();
  return summarizeQuietWindows(readings, workload.records, {
    startedMs,
    windowMs: cell.quietWindowMs,
    windowCount: cell.quietWindows,
  });
}

/**
 * Cuts one member off from the others (its process keeps running and still answers the lab)
 * for isolationMs under write load, heals, and watches what the reconnection does to the term
 * and the leader. Without pre-vote the isolated member keeps campaigning, raising its term;
 * its first answer after the heal carries that term, which makes the leader step down.
 */
export async function healTrial(
  cluster: StartedEtcdCluster,
  cell: SweepCell,
  fault: Extract<SweepFault, { kind: 'partition-and-heal' }>,
  trial: number,
  faultCtx: Parameters<ReturnType<typeof isolate>['inject']>[0],
  signal: AbortSignal | undefined,
): Promise<HealTrial> {
  const { clock } = faultCtx;
  const electionTimeoutMs = cell.etcdOptions.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs;
  const observeMs = fault.observeMs ?? Math.max(2_000, 10 * electionTimeoutMs);
  const timeoutMs = faultCtx.leaderTimeoutMs ?? 30_000;
  const { leader } = await cluster.waitForStableLeader({ timeoutMs });
  await cluster.waitForConvergence({ timeoutMs });

  const stopLoad = new AbortController();
  const abortLoad = () => stopLoad.abort(signal?.reason);
  signal?.addEventListener('abort', abortLoad, { once: true });
  let loadStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (loadStarted = resolve));
  // Long enough never to end by itself; it is stopped once the observation is over.
  const load = writeLoad(cluster, cell, clock, fault.isolationMs + observeMs + 600_000, stopLoad.signal, () =>
    loadStarted(),
  );
  let handle: FaultHandle | undefined;
  try {
    await Promise.race([started, load]);
    handle = await isolate(fault.target).inject(faultCtx);
    const isolated = handle.targets[0] ?? fault.target;
    const connected = cluster.members.map((m) => m.name).filter((name) => name !== isolated);
    await sleep(fault.isolationMs, signal);

    const isolatedEvents = raftEvents(isolated, await cluster.logEntries(isolated)).filter(
      // etcd logs whole milliseconds.
      (e) => e.tsMs >= clock.toWall(handle?.injectedAtMs ?? 0) - 1,
    );
    const before = await cluster.waitForStableLeader({ timeoutMs, members: connected });
    const changesBefore = await leaderChangesByMember(cluster, connected);
    await handle.heal();
    const healedAtMs = handle.healedAtMs ?? clock.now();
    await sleep(observeMs, signal);
    const after = await cluster.waitForStableLeader({ timeoutMs });
    const changesAfter = await leaderChangesByMember(cluster, connected);
    stopLoad.abort();
    const { records } = await load;
    const stall = longestUnavailability(records, {
      fromMs: healedAtMs,
      toMs: healedAtMs + observeMs,
      faultAtMs: healedAtMs,
    });
    const deltas = differences(changesBefore, changesAfter);
    return {
      trial,
      isolated,
      leaderBefore: leader.name,
      termBeforeHeal: before.term,
      isolatedCampaignTerm:
        isolatedEvents.length === 0 ? null : Math.max(...isolatedEvents.map((e) => e.term)),
      leaderAfter: after.leader.name,
      termAfter: after.term,
      termJump: after.term - before.term,
      leaderChangesOnHeal: largest(deltas),
      leaderChangesByMember: deltas,
      writeStallAfterHealMs: stall?.durationMs ?? null,
      isolation: handle.record(),
    };
  } finally {
    signal?.removeEventListener('abort', abortLoad);
    stopLoad.abort();
    await handle?.heal();
    await load.catch(() => undefined);
  }
}

/** The sweep's write load: open loop (latency from the intended send time), puts only. */
function writeLoad(
  cluster: StartedEtcdCluster,
  cell: SweepCell,
  clock: RunClock,
  durationMs: number,
  signal: AbortSignal | undefined,
  onStart?: (startedMs: number) => void,
): Promise<WorkloadResult> {
  const electionTimeoutMs = cell.etcdOptions.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs;
  return runWorkload(cluster, {
    mode: 'open-loop',
    ratePerSecond: cell.load.ratePerSecond,
    clients: cell.load.clients,
    valueBytes: cell.load.valueBytes,
    durationMs,
    mix: { put: 1 },
    keyPrefix: 'sweep/',
    keyCount: 1_000,
    seed: cell.seed,
    // Long enough to outlast an election, so a write waiting for the new leader is not cut short.
    callTimeoutMs: Math.max(2_000, 4 * electionTimeoutMs),
    clock,
    ...(signal === undefined ? {} : { signal }),
    ...(onStart === undefined ? {} : { onStart }),
  });
}

/**
 * Each member's leader-change counter; null for a member whose metrics could not be read in
 * `attempts` tries (a member busy with elections can miss a 2 s deadline).
 */
async function leaderChangesByMember(
  cluster: StartedEtcdCluster,
  names: readonly string[],
  { attempts = 1 }: { attempts?: number } = {},
): Promise<Record<string, number | null>> {
  const values = await Promise.all(
    names.map(async (name) => {
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const value = metricValue(await cluster.metrics(name).catch(() => ''), LEADER_CHANGES);
        if (!Number.isNaN(value)) return [name, value] as const;
      }
      return [name, null] as const;
    }),
  );
  return Object.fromEntries(values);
}

/** Highest raft term any member reports; each try waits up to 2 s for the members' answers. */
async function highestTerm(
  cluster: StartedEtcdCluster,
  { attempts = 1 }: { attempts?: number } = {},
): Promise<number | null> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const terms = (await cluster.status(2_000)).flatMap((s) => (s.ok ? [s.raftTerm] : []));
    if (terms.length > 0) return Math.max(...terms);
  }
  return null;
}
