import os from 'node:os';
import { EtcdCluster } from '../cluster/etcd-cluster.ts';
import type { EtcdOptions } from '../cluster/etcd-options.ts';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { LabTimeoutError } from '../errors.ts';
import type { HostCapabilities } from '../faults/capabilities.ts';
import type { FaultHandle, FaultRecord } from '../faults/fault.ts';
import { isolate } from '../faults/network/partition.ts';
import { summarizeElectionTrials, type ElectionSummary } from '../measure/election-summary.ts';
import { raftEvents } from '../measure/election-log.ts';
import { runElectionTrials, type ElectionTrial } from '../measure/election-trials.ts';
import { longestUnavailability, summarizeOperations } from '../measure/latency-stats.ts';
import { metricValue } from '../measure/metrics.ts';
import { sleep, type RunClock } from '../util/clock.ts';
import { runWorkload, type WorkloadResult } from '../workload/run-workload.ts';
import { conditionFault } from './conditions.ts';
import type { SweepCell, SweepCondition, SweepFault } from './spec.ts';

/** Writes during the quiet window: latency of the ok ones, and how many went through per second. */
export interface WriteFigures {
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** ok writes per second over the window. */
  readonly throughput: number | null;
  readonly ok: number;
  readonly fail: number;
  readonly indeterminate: number;
}

/** The stretch of the cell with the condition on and no fault injected. */
export interface QuietWindowResult {
  readonly windowMs: number;
  /**
   * Elections during the window, from /metrics: the largest increase of any member's
   * `etcd_server_leader_changes_seen_total` (every connected member counts each new leader
   * once, so this is the number of new leaders, including a leader re-elected after stepping down).
   */
  readonly leaderChanges: number | null;
  readonly leaderChangesByMember: Readonly<Record<string, number | null>>;
  /** Highest raft term after the window minus before (failed campaigns raise it too, without pre-vote). */
  readonly termIncrease: number | null;
  readonly writes: WriteFigures;
}

/** One partition-and-heal trial: a member cut off for isolationMs, then reconnected and watched. */
export interface HealTrial {
  readonly trial: number;
  readonly isolated: string;
  readonly leaderBefore: string;
  /** The majority side's term just before the heal. */
  readonly termBeforeHeal: number;
  /**
   * Highest raft term the isolated member logged while cut off (without pre-vote each campaign
   * raises it). From its log: etcd's status reports the term of the last applied entry instead.
   */
  readonly isolatedCampaignTerm: number | null;
  readonly leaderAfter: string | null;
  readonly termAfter: number | null;
  /** termAfter − termBeforeHeal: the heal forced this many term increases on the cluster. */
  readonly termJump: number | null;
  /** New leaders after the heal (from /metrics), largest over the members that stayed connected. */
  readonly leaderChangesOnHeal: number | null;
  readonly leaderChangesByMember: Readonly<Record<string, number | null>>;
  /** Longest gap between successful writes from the heal to the end of the observation. */
  readonly writeStallAfterHealMs: number | null;
  readonly isolation: FaultRecord;
}

export interface CellResult {
  readonly schemaVersion: 1;
  readonly sweep: string;
  readonly cellId: string;
  readonly cellHash: string;
  readonly index: number;
  readonly label: string;
  readonly etcdOptions: EtcdOptions;
  readonly condition: SweepCondition;
  readonly fault: SweepFault;
  readonly trials: number;
  readonly seed: number;
  readonly startedAt: string;
  readonly durationMs: number;
  /** 1/5/15-minute load averages of the host when the cell started and ended. */
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly environment: Readonly<Record<string, unknown>>;
  /** Which mechanism produced the condition and the fault on this host. */
  readonly mechanisms: { readonly condition: string | null; readonly fault: string | null };
  /** Every injection of the condition (re-applied after a kill: a restarted member loses network faults). */
  readonly conditionFaults: readonly FaultRecord[];
  readonly quiet: QuietWindowResult | null;
  readonly elections: {
    readonly trials: readonly ElectionTrial[];
    readonly summary: ElectionSummary;
  } | null;
  readonly heals: readonly HealTrial[] | null;
  /**
   * Set when the cluster under test stopped the measurements early, e.g. no stable leader
   * under the condition. That is a result about etcd, not a failure of the lab.
   */
  readonly incomplete: string | null;
}

export interface CellContext {
  readonly sweep: string;
  readonly clock: RunClock;
  readonly signal?: AbortSignal;
  readonly caps?: HostCapabilities;
  readonly onProgress?: (message: string) => void;
}

const LEADER_CHANGES = 'etcd_server_leader_changes_seen_total';
const FAULT_MECHANISM = { 'leader-kill': 'sigkill', 'leader-pause': 'cgroup-freezer' } as const;

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
  const electionTimeoutMs = cell.etcdOptions.electionTimeoutMs ?? 1_000;
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
      say(`quiet window of ${cell.quietWindowMs / 1000} s under ${cell.condition.kind}`);
      quiet = await observeQuietWindow(cluster, cell, clock, signal);
      say(
        `quiet window: ${quiet.leaderChanges ?? '?'} leader changes, write p99 ${fmt(quiet.writes.p99Ms)} ms`,
      );
    }

    const fault = cell.fault;
    if (fault.kind === 'leader-kill' || fault.kind === 'leader-pause') {
      faultMechanism = FAULT_MECHANISM[fault.kind];
      const trials: ElectionTrial[] = [];
      try {
        for (let trial = 1; trial <= cell.trials; trial++) {
          // A killed member comes back in a new network namespace, without the delay it had.
          if (trial > 1 && fault.kind === 'leader-kill' && cell.condition.kind === 'rtt')
            await applyCondition();
          const [result] = await runElectionTrials(cluster, {
            trials: 1,
            fault: fault.kind === 'leader-kill' ? 'kill' : 'pause',
            clock,
            ...(signal === undefined ? {} : { signal }),
            ...(ctx.caps === undefined ? {} : { caps: ctx.caps }),
          });
          if (result === undefined) break;
          trials.push({ ...result, trial });
          say(
            `trial ${trial}/${cell.trials}: ${result.fault} ${result.oldLeader} → ${result.newLeader ?? '?'}, elected after ${fmt(result.logElectedAfterFaultMs)} ms`,
          );
        }
      } finally {
        elections = {
          trials,
          summary: summarizeElectionTrials(trials, {
            electionTimeoutMs,
            heartbeatMs: cell.etcdOptions.heartbeatMs ?? 100,
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

  return {
    schemaVersion: 1,
    sweep: ctx.sweep,
    cellId: cell.cellId,
    cellHash: cell.cellHash,
    index: cell.index,
    label: cell.label,
    etcdOptions: cell.etcdOptions,
    condition: cell.condition,
    fault: cell.fault,
    trials: cell.trials,
    seed: cell.seed,
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
  };
}

async function observeQuietWindow(
  cluster: StartedEtcdCluster,
  cell: SweepCell,
  clock: RunClock,
  signal: AbortSignal | undefined,
): Promise<QuietWindowResult> {
  const names = cluster.members.map((m) => m.name);
  const changesBefore = await leaderChangesByMember(cluster, names);
  const termBefore = await highestTerm(cluster);
  const workload = await writeLoad(cluster, cell, clock, cell.quietWindowMs, signal);
  signal?.throwIfAborted();
  const changesAfter = await leaderChangesByMember(cluster, names);
  const termAfter = await highestTerm(cluster);
  const deltas = differences(changesBefore, changesAfter);
  const writes = summarizeOperations(workload.records, {
    fromMs: workload.startedMs,
    toMs: workload.startedMs + cell.quietWindowMs,
  });
  return {
    windowMs: cell.quietWindowMs,
    leaderChanges: largest(deltas),
    leaderChangesByMember: deltas,
    termIncrease: termBefore === null || termAfter === null ? null : termAfter - termBefore,
    writes: {
      p50Ms: writes.latency.p50,
      p99Ms: writes.latency.p99,
      throughput: writes.throughput,
      ...writes.outcomes,
    },
  };
}

/**
 * Cuts one member off from the others (its process keeps running and still answers the lab)
 * for isolationMs under write load, heals, and watches what the reconnection does to the term
 * and the leader. Without pre-vote the isolated member keeps campaigning, raising its term;
 * its first answer after the heal carries that term, which makes the leader step down.
 */
async function healTrial(
  cluster: StartedEtcdCluster,
  cell: SweepCell,
  fault: Extract<SweepFault, { kind: 'partition-and-heal' }>,
  trial: number,
  faultCtx: Parameters<ReturnType<typeof isolate>['inject']>[0],
  signal: AbortSignal | undefined,
): Promise<HealTrial> {
  const { clock } = faultCtx;
  const electionTimeoutMs = cell.etcdOptions.electionTimeoutMs ?? 1_000;
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
  onStart?: () => void,
): Promise<WorkloadResult> {
  const electionTimeoutMs = cell.etcdOptions.electionTimeoutMs ?? 1_000;
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

/** Each member's leader-change counter; null for a member whose metrics could not be read. */
async function leaderChangesByMember(
  cluster: StartedEtcdCluster,
  names: readonly string[],
): Promise<Record<string, number | null>> {
  const values = await Promise.all(
    names.map(async (name) => {
      const value = metricValue(await cluster.metrics(name).catch(() => ''), LEADER_CHANGES);
      return [name, Number.isNaN(value) ? null : value] as const;
    }),
  );
  return Object.fromEntries(values);
}

function differences(
  before: Readonly<Record<string, number | null>>,
  after: Readonly<Record<string, number | null>>,
): Record<string, number | null> {
  return Object.fromEntries(
    Object.entries(after).map(([name, value]) => {
      const earlier = before[name];
      return [name, value === null || earlier === null || earlier === undefined ? null : value - earlier];
    }),
  );
}

const largest = (values: Readonly<Record<string, number | null>>): number | null => {
  const present = Object.values(values).filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.max(...present);
};

async function highestTerm(cluster: StartedEtcdCluster): Promise<number | null> {
  const terms = (await cluster.status()).flatMap((s) => (s.ok ? [s.raftTerm] : []));
  return terms.length === 0 ? null : Math.max(...terms);
}

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '?' : v.toFixed(0));
