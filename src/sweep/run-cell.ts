import os from 'node:os';
import { EtcdCluster } from '../cluster/etcd-cluster.ts';
import { ETCD_DEFAULTS } from '../cluster/etcd-options.ts';
import type { EtcdOptions } from '../cluster/etcd-options.ts';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { LabTimeoutError } from '../errors.ts';
import type { HostCapabilities } from '../faults/capabilities.ts';
import { faultTraits, onlyMechanism } from '../faults/catalog.ts';
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
import {
  isLeaderFault,
  LEADER_LOSS_FAULTS,
  type SweepCell,
  type SweepCondition,
  type SweepFault,
} from './spec.ts';

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

/** One quiet window: leader changes and the term over it, as read at its end. */
export interface QuietWindowSample {
  readonly window: number;
  /** Run-clock start and end of the window. */
  readonly fromMs: number;
  readonly toMs: number;
  /**
   * Elections during the window, from /metrics: the largest increase of any member's
   * `etcd_server_leader_changes_seen_total` (every connected member counts each new leader
   * once, so this is the number of new leaders, including a leader re-elected after stepping down).
   */
  readonly leaderChanges: number | null;
  readonly leaderChangesByMember: Readonly<Record<string, number | null>>;
  /** Highest raft term at the window's end minus at its start (failed campaigns raise it too). */
  readonly termIncrease: number | null;
  readonly writeP99Ms: number | null;
}

/** The stretch of the cell with the condition on and no fault injected: `quietWindows` windows in a row. */
export interface QuietWindowResult {
  /** Length of each window. */
  readonly windowMs: number;
  /** All windows together. */
  readonly observedMs: number;
  readonly windows: readonly QuietWindowSample[];
  /** Sum over the windows (null if a window's counters could not be read). */
  readonly leaderChanges: number | null;
  /** leaderChanges per minute of observation. */
  readonly leaderChangesPerMinute: number | null;
  /** How many windows saw at least one leader change. */
  readonly windowsWithLeaderChanges: number;
  readonly termIncrease: number | null;
  /** Writes over all the windows. */
  readonly writes: WriteFigures;
  /** Longest gap between successful writes over all the windows (an election stalls writes). */
  readonly longestWriteGapMs: number | null;
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
  readonly schemaVersion: 2;
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

  return {
    schemaVersion: 2,
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

/**
 * Runs one write load through `quietWindows` windows back to back and reads the leader-change
 * counters and the term at every window boundary, so bursts of elections show up per window.
 */
async function observeQuietWindows(
  cluster: StartedEtcdCluster,
  cell: SweepCell,
  clock: RunClock,
  signal: AbortSignal | undefined,
  onWindow: (window: number, leaderChanges: number | null, termIncrease: number | null) => void,
): Promise<QuietWindowResult> {
  const names = cluster.members.map((m) => m.name);
  const totalMs = cell.quietWindows * cell.quietWindowMs;
  const readings: { atMs: number; changes: Record<string, number | null>; term: number | null }[] = [];
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
  const between = (start: (typeof readings)[number], end: (typeof readings)[number]) => {
    const deltas = differences(start.changes, end.changes);
    const termIncrease = start.term === null || end.term === null ? null : end.term - start.term;
    return { deltas, leaderChanges: largest(deltas), termIncrease };
  };
  for (let window = 1; window <= cell.quietWindows; window++) {
    await sleep(Math.max(0, startedMs + window * cell.quietWindowMs - clock.now()), signal);
    await read();
    const [start, end] = readings.slice(-2) as [(typeof readings)[number], (typeof readings)[number]];
    const { leaderChanges, termIncrease } = between(start, end);
    onWindow(window, leaderChanges, termIncrease);
  }
  const workload = await load;
  signal?.throwIfAborted();

  const windows = readings.slice(1).map((end, i): QuietWindowSample => {
    const start = readings[i] ?? end;
    const { deltas, leaderChanges, termIncrease } = between(start, end);
    const fromMs = i === 0 ? startedMs : start.atMs;
    return {
      window: i + 1,
      fromMs,
      toMs: end.atMs,
      leaderChanges,
      leaderChangesByMember: deltas,
      termIncrease,
      writeP99Ms: summarizeOperations(workload.records, { fromMs, toMs: end.atMs }).latency.p99,
    };
  });
  // Totals from the first and last readings: a counter that could not be read at a window's
  // boundary (etcd busy electing) leaves that window unknown, not the whole observation.
  const whole = between(readings[0] ?? { atMs: 0, changes: {}, term: null }, readings.at(-1) ?? readings[0]!);
  const span = { fromMs: startedMs, toMs: startedMs + totalMs };
  const writes = summarizeOperations(workload.records, span);
  return {
    windowMs: cell.quietWindowMs,
    observedMs: totalMs,
    windows,
    leaderChanges: whole.leaderChanges,
    leaderChangesPerMinute: whole.leaderChanges === null ? null : whole.leaderChanges / (totalMs / 60_000),
    windowsWithLeaderChanges: windows.filter((w) => w.leaderChanges !== null && w.leaderChanges > 0).length,
    termIncrease: whole.termIncrease,
    writes: {
      p50Ms: writes.latency.p50,
      p99Ms: writes.latency.p99,
      throughput: writes.throughput,
      ...writes.outcomes,
    },
    longestWriteGapMs:
      longestUnavailability(workload.records, { ...span, faultAtMs: span.fromMs })?.durationMs ?? null,
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

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '?' : v.toFixed(0));
