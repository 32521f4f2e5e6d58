/**
 * The quorum model checked on real etcd: the n × k matrix (members taken down by SIGKILL or by
 * network isolation, then writes, reads and leader presence observed), write latency by cluster
 * size, and a time-compressed availability run. Each observation is recorded; the comparison with
 * the model and the claims are pure functions in matrix.ts and availability.ts.
 */
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { EtcdCluster } from '../cluster/etcd-cluster.ts';
import type { EtcdMember } from '../cluster/etcd-member.ts';
import { validateEtcdOptions, type EtcdOptions } from '../cluster/etcd-options.ts';
import { checkAcknowledgedWrites, type AcknowledgedWritesResult } from '../checks/acknowledged-writes.ts';
import { BadInputError, ClusterError, LabTimeoutError } from '../errors.ts';
import type { HypothesisCheck } from '../experiments/run-experiment.ts';
import type { FaultHandle } from '../faults/fault.ts';
import { findFaultResidue, type Residue } from '../faults/residue.ts';
import { split } from '../faults/network/partition.ts';
import { kill } from '../faults/process/process-fault.ts';
import { History } from '../history/history.ts';
import type { OperationRecord } from '../history/operation-record.ts';
import { RecordingClient } from '../history/recording-client.ts';
import { summarizeOperations, type OperationsSummary } from '../measure/latency-stats.ts';
import { RunClock, sleep } from '../util/clock.ts';
import { progress } from '../util/log.ts';
import { runWorkload } from '../workload/run-workload.ts';
import {
  availabilityClaims,
  batchMeansInterval,
  generateFailureSchedule,
  noQuorumIntervals,
  overlapMs,
  scheduleEvents,
  unavailableFromSamples,
  type ConfidenceInterval,
  type Interval,
  type ProbeSample,
} from './availability.ts';
import {
  compareCell,
  leaderFromStatuses,
  membersToTakeDown,
  predictCell,
  type Answer,
  type CellObservation,
  type MatrixCell,
  type Mechanism,
  MECHANISMS,
} from './matrix.ts';
import { hasQuorum, memberDownProbability, unavailability } from './model.ts';

/** Short Raft timing so that a cell takes seconds: elections in ~0.25–0.5 s. */
export const QUORUM_TIMING = { heartbeatMs: 25, electionTimeoutMs: 250 } as const;

/** Where every key of the matrix lives; `SENTINEL_KEY` holds the value written just before each fault. */
const KEY_PREFIX = 'quorum/';
const SENTINEL_KEY = `${KEY_PREFIX}sentinel`;
/** Pause between attempts that failed fast (refused connection, "no leader"), so a cell does not spin. */
const RETRY_PAUSE_MS = 50;
const POLL_MS = 50;
const RECOVERY_TIMEOUT_MS = 30_000;

export interface LatencyLoad {
  /** Open loop: fixed rate, latency from the intended send time. */
  readonly ratePerSecond: number;
  readonly clients: number;
  readonly durationMs: number;
  /** Closed loop (each client sends when its previous call returned): throughput at this many clients. */
  readonly closedLoopClients: number;
}

export const DEFAULT_LATENCY_LOAD: LatencyLoad = {
  ratePerSecond: 200,
  clients: 8,
  durationMs: 5_000,
  closedLoopClients: 8,
};

/** Sizes whose write latency is compared ("extra members slow the cluster down"). */
export const LATENCY_SIZES: readonly number[] = [1, 3, 5, 7];

export interface QuorumMatrixOptions {
  /** Cluster sizes, 1–7; one cluster per size, reused for every k and mechanism. */
  readonly sizes: readonly number[];
  readonly mechanisms: readonly Mechanism[];
  readonly heartbeatMs?: number;
  readonly electionTimeoutMs?: number;
  /**
   * How long each question (write, reads, leader) may take to be answered after the fault is in
   * place (and, with isolation, after the cut-off leader stepped down). Default 12 × election timeout.
   */
  readonly observeMs?: number;
  /** Deadline of each put / get attempt. Default 4 × election timeout. */
  readonly callTimeoutMs?: number;
  /** Write latency measured on each size of {@link LATENCY_SIZES} that is run, before its cells. Default: none. */
  readonly latencyLoad?: LatencyLoad;
  readonly image?: string;
  readonly clock?: RunClock;
  /** Every put and get of the cells is appended here. Default: a new history. */
  readonly history?: History;
  readonly signal?: AbortSignal;
  readonly onCell?: (cell: MatrixCell) => void;
}

export interface LatencyBySize {
  readonly members: number;
  readonly openLoop: OperationsSummary;
  readonly closedLoop: OperationsSummary;
}

export interface ClusterRun {
  readonly members: number;
  /** What produced the cluster: image, etcd version, timing, pre-vote. */
  readonly environment: Record<string, unknown>;
  readonly acknowledgedWrites: AcknowledgedWritesResult | null;
  /** What the cells' faults left on the members after their last heal (empty: everything healed). */
  readonly faultResidue: readonly Residue[];
  readonly wallTimeMs: number;
}

export interface QuorumMatrixResult {
  readonly cells: readonly MatrixCell[];
  readonly clusters: readonly ClusterRun[];
  readonly latency: readonly LatencyBySize[];
  readonly settings: {
    readonly heartbeatMs: number;
    readonly electionTimeoutMs: number;
    readonly preVote: boolean;
    readonly observeMs: number;
    readonly callTimeoutMs: number;
    readonly latencyLoad: LatencyLoad | null;
  };
  readonly wallTimeMs: number;
  readonly history: History;
}

interface Settings {
  readonly etcd: EtcdOptions;
  readonly electionTimeoutMs: number;
  readonly observeMs: number;
  readonly callTimeoutMs: number;
}

/** Checks the options; throws BadInputError naming the field before anything starts. */
export function validateMatrixOptions(options: QuorumMatrixOptions): Settings {
  if (options.sizes.length === 0) throw new BadInputError('sizes: give at least one cluster size');
  for (const n of options.sizes) {
    if (!Number.isInteger(n) || n < 1 || n > 7)
      throw new BadInputError(`sizes: each size must be an integer from 1 to 7, got ${n}`);
  }
  if (new Set(options.sizes).size !== options.sizes.length)
    throw new BadInputError('sizes: a size is listed twice');
  if (options.mechanisms.length === 0 || options.mechanisms.some((m) => !MECHANISMS.includes(m))) {
    throw new BadInputError(
      `mechanisms: each must be one of ${MECHANISMS.join(', ')}, got [${options.mechanisms.join(', ')}]`,
    );
  }
  const heartbeatMs = options.heartbeatMs ?? QUORUM_TIMING.heartbeatMs;
  const electionTimeoutMs = options.electionTimeoutMs ?? QUORUM_TIMING.electionTimeoutMs;
  // Pre-vote keeps a member coming back from isolation from disrupting the leader with a higher term.
  const etcd: EtcdOptions = { heartbeatMs, electionTimeoutMs, preVote: true };
  validateEtcdOptions(etcd);
  const observeMs = options.observeMs ?? 12 * electionTimeoutMs;
  const callTimeoutMs = options.callTimeoutMs ?? 4 * electionTimeoutMs;
  for (const [name, value] of [
    ['observeMs', observeMs],
    ['callTimeoutMs', callTimeoutMs],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0)
      throw new BadInputError(`${name} must be a positive number of ms, got ${value}`);
  }
  const load = options.latencyLoad;
  if (load !== undefined) {
    for (const [name, value] of Object.entries(load)) {
      if (!Number.isFinite(value) || value <= 0)
        throw new BadInputError(`latencyLoad.${name} must be positive, got ${String(value)}`);
    }
  }
  return { etcd, electionTimeoutMs, observeMs, callTimeoutMs };
}

/**
 * Runs the matrix: for each size one cluster; for each mechanism and k = 0..n, take k members down
 * (leader first, see membersToTakeDown), observe, heal, wait for a stable leader and caught-up
 * members, next k. After a size's cells, every acknowledged write is checked against the final values.
 */
export async function runQuorumMatrix(options: QuorumMatrixOptions): Promise<QuorumMatrixResult> {
  const settings = validateMatrixOptions(options);
  const clock = options.clock ?? new RunClock();
  const history = options.history ?? new History();
  const startedMs = clock.now();
  const cells: MatrixCell[] = [];
  const clusters: ClusterRun[] = [];
  const latency: LatencyBySize[] = [];
  for (const n of options.sizes) {
    options.signal?.throwIfAborted();
    const clusterStartMs = clock.now();
    const builder = new EtcdCluster().withMembers(n).withEtcdOptions(settings.etcd).withDataDir('memory');
    if (options.image !== undefined) builder.withImage(options.image);
    progress(`quorum matrix: starting a ${n}-member cluster`);
    const cluster = await builder.start();
    try {
      await cluster.waitForStableLeader({ timeoutMs: RECOVERY_TIMEOUT_MS });
      if (options.latencyLoad !== undefined && LATENCY_SIZES.includes(n)) {
        latency.push(await measureWriteLatency(cluster, options.latencyLoad, clock, options.signal));
      }
      const recorders = new Map(
        cluster.members.map((m) => [
          m.name,
          new RecordingClient(cluster.memberClient(m, { callTimeoutMs: settings.callTimeoutMs }), {
            clientId: `n${n}-${m.name}`,
            clock,
            history,
          }),
        ]),
      );
      const cellContext = { cluster, clock, recorders, settings, signal: options.signal };
      let recovered = true;
      for (const mechanism of options.mechanisms) {
        for (let k = 0; k <= n && recovered; k++) {
          options.signal?.throwIfAborted();
          const cell = await runCell(cellContext, n, k, mechanism);
          cells.push(cell);
          options.onCell?.(cell);
          recovered = cell.timings.recoveryMs !== null;
        }
      }
      const acknowledgedWrites = recovered
        ? checkAcknowledgedWrites(ownRecords(history, n), await readFinalValues(cluster))
        : null;
      clusters.push({
        members: n,
        environment: cluster.describe(),
        acknowledgedWrites,
        faultResidue: await findFaultResidue(cluster),
        wallTimeMs: clock.now() - clusterStartMs,
      });
    } finally {
      await cluster.dispose();
    }
  }
  return {
    cells,
    clusters,
    latency,
    settings: {
      heartbeatMs: settings.etcd.heartbeatMs ?? QUORUM_TIMING.heartbeatMs,
      electionTimeoutMs: settings.electionTimeoutMs,
      preVote: settings.etcd.preVote ?? true,
      observeMs: settings.observeMs,
      callTimeoutMs: settings.callTimeoutMs,
      latencyLoad: options.latencyLoad ?? null,
    },
    wallTimeMs: clock.now() - startedMs,
    history,
  };
}

const ownRecords = (history: History, n: number): OperationRecord[] =>
  history.records.filter((r) => r.clientId.startsWith(`n${n}-`));

async function readFinalValues(cluster: StartedEtcdCluster): Promise<Map<string, string>> {
  const client = cluster.client({ retries: true, callTimeoutMs: 10_000 });
  return new Map(Object.entries(await client.getAll().prefix(KEY_PREFIX).strings()));
}

interface CellContext {
  readonly cluster: StartedEtcdCluster;
  readonly clock: RunClock;
  readonly recorders: ReadonlyMap<string, RecordingClient>;
  readonly settings: Settings;
  readonly signal: AbortSignal | undefined;
}

function recorderOf(ctx: CellContext, member: string): RecordingClient {
  const recorder = ctx.recorders.get(member);
  if (recorder === undefined) throw new ClusterError(`no client for member ${member}`);
  return recorder;
}

/** One cell: sentinel written and replicated, k members down, observed, healed, recovered. */
async function runCell(ctx: CellContext, n: number, k: number, mechanism: Mechanism): Promise<MatrixCell> {
  const { cluster, clock } = ctx;
  const { leader } = await cluster.waitForStableLeader({ timeoutMs: RECOVERY_TIMEOUT_MS });
  const names = cluster.members.map((m) => m.name);
  const targets = membersToTakeDown(names, leader.name, k);
  const prediction = predictCell(n, k, mechanism);
  const base = { members: n, down: k, mechanism, targets, leaderBefore: leader.name };
  if (prediction === null) {
    return {
      ...base,
      faultMechanism: null,
      sentinel: '',
      prediction,
      observation: null,
      verdict: 'not-applicable',
      mismatches: ['a 1-member cluster has no peer to be cut off from'],
      timings: { injectMs: null, observeMs: null, recoveryMs: 0 },
    };
  }
  const sentinel = await writeSentinel(ctx, `n${n}-${mechanism}-k${k}`);
  await cluster.waitForConvergence({ timeoutMs: RECOVERY_TIMEOUT_MS });
  progress(`quorum matrix: n=${n} ${mechanism} k=${k}${k > 0 ? ` (${targets.join(', ')})` : ''}`);

  let handle: FaultHandle | undefined;
  let observation: CellObservation;
  let injectMs: number | null = null;
  let observeMs: number;
  try {
    const injectStart = clock.now();
    if (k > 0) {
      const fault =
        mechanism === 'kill'
          ? kill(targets)
          : // Each target alone in its group: cut off from every other member, both ways.
            split([...targets, ...(k < n ? ['rest'] : [])]);
      handle = await fault.inject({ cluster, clock });
    }
    injectMs = clock.now() - injectStart;
    const observeStart = clock.now();
    const stepDown =
      mechanism === 'isolate' && k > 0
        ? await watchStepDown(
            ctx,
            leader,
            hasQuorum(n, k) ? targets : names,
            observeStart + ctx.settings.observeMs,
          )
        : null;
    const reachable = mechanism === 'kill' ? names.filter((m) => !targets.includes(m)) : names;
    observation = {
      ...(await observe(ctx, n, reachable, sentinel, `${KEY_PREFIX}${mechanism}/k${k}`)),
      stepDown,
    };
    observeMs = clock.now() - observeStart;
  } finally {
    await handle?.heal();
  }
  const healedAt = clock.now();
  let recoveryMs: number | null = null;
  try {
    await cluster.waitForStableLeader({ timeoutMs: RECOVERY_TIMEOUT_MS });
    await cluster.waitForConvergence({ timeoutMs: RECOVERY_TIMEOUT_MS });
    recoveryMs = clock.now() - healedAt;
  } catch (error) {
    if (!(error instanceof LabTimeoutError)) throw error;
  }
  const mismatches = compareCell(prediction, observation);
  if (recoveryMs === null)
    mismatches.push(
      `no stable leader with all members caught up within ${RECOVERY_TIMEOUT_MS} ms of healing`,
    );
  return {
    ...base,
    faultMechanism: handle?.mechanism ?? null,
    sentinel,
    prediction,
    observation,
    verdict: mismatches.length === 0 ? 'match' : 'mismatch',
    mismatches,
    timings: { injectMs, observeMs, recoveryMs },
  };
}

/**
 * Writes a fresh value to the sentinel key through the leader. Just after a heal the leader's
 * client may still be reconnecting, so a few attempts are allowed; failing them all is a lab failure.
 */
async function writeSentinel(ctx: CellContext, label: string): Promise<string> {
  let last: OperationRecord | undefined;
  for (let attempt = 1; attempt <= 10; attempt++) {
    const { leader } = await ctx.cluster.waitForStableLeader({ timeoutMs: RECOVERY_TIMEOUT_MS });
    const value = `${label}#${attempt}@${Math.round(ctx.clock.now())}`;
    last = await recorderOf(ctx, leader.name).put(SENTINEL_KEY, value);
    if (last.outcome === 'ok') return value;
    await sleep(200, ctx.signal);
  }
  throw new ClusterError(
    `could not write the sentinel value for ${label}: ${last?.errorMessage ?? 'no attempt'}`,
  );
}

/**
 * Polls the members on a minority side until none of them calls itself leader (CheckQuorum makes a
 * leader that cannot hear from a majority step down), or the deadline.
 */
async function watchStepDown(
  ctx: CellContext,
  exLeader: EtcdMember,
  minoritySide: readonly string[],
  deadlineMs: number,
): Promise<CellObservation['stepDown']> {
  const start = ctx.clock.now();
  const base = { member: exLeader.name, minoritySide };
  while (ctx.clock.now() < deadlineMs) {
    const statuses = await Promise.all(minoritySide.map((m) => ctx.cluster.memberStatus(m, 300)));
    if (statuses.every((s) => s.ok && s.leaderId !== s.memberId)) {
      return { ...base, steppedDown: true, afterMs: ctx.clock.now() - start };
    }
    await sleep(POLL_MS / 2, ctx.signal);
  }
  return { ...base, steppedDown: false, afterMs: null };
}

/**
 * Asks the four questions at once, each until answered or until observeMs have passed (an attempt
 * started before then may finish up to callTimeoutMs later).
 */
async function observe(
  ctx: CellContext,
  n: number,
  reachable: readonly string[],
  sentinel: string,
  writeKey: string,
): Promise<Omit<CellObservation, 'stepDown'>> {
  const start = ctx.clock.now();
  const deadline = start + ctx.settings.observeMs;
  const readJudge = (record: OperationRecord): string | null =>
    record.outcome !== 'ok'
      ? (record.errorMessage ?? record.outcome)
      : record.value === sentinel
        ? null
        : `returned ${JSON.stringify(record.value ?? null)}, expected ${JSON.stringify(sentinel)}`;
  const [write, linearizableRead, serializableRead, leader] = await Promise.all([
    ask(
      ctx,
      reachable,
      deadline,
      (m, attempt) =>
        recorderOf(ctx, m).put(
          `${writeKey}/via-${m}`,
          `${writeKey}/via-${m}#${attempt}@${Math.round(start)}`,
        ),
      (r) => (r.outcome === 'ok' ? null : (r.errorMessage ?? r.outcome)),
    ),
    ask(ctx, reachable, deadline, (m) => recorderOf(ctx, m).get(SENTINEL_KEY, 'linearizable'), readJudge),
    ask(ctx, reachable, deadline, (m) => recorderOf(ctx, m).get(SENTINEL_KEY, 'serializable'), readJudge),
    watchLeader(ctx, n, deadline),
  ]);
  return { reachable, write, linearizableRead, serializableRead, leader };
}

/**
 * One question to every reachable member in parallel, each retrying until some member answers
 * as required (then the others stop) or the deadline passes.
 */
async function ask(
  ctx: CellContext,
  members: readonly string[],
  deadlineMs: number,
  call: (member: string, attempt: number) => Promise<OperationRecord>,
  judge: (record: OperationRecord) => string | null,
): Promise<Answer> {
  const start = ctx.clock.now();
  let answered: { member: string; afterMs: number } | null = null;
  let attempts = 0;
  let lastError: string | null = members.length === 0 ? 'no member reachable' : null;
  await Promise.all(
    members.map(async (member) => {
      while (answered === null && ctx.clock.now() < deadlineMs) {
        ctx.signal?.throwIfAborted();
        attempts += 1;
        const problem = judge(await call(member, attempts));
        if (problem === null) {
          answered ??= { member, afterMs: ctx.clock.now() - start };
          return;
        }
        lastError = `${member}: ${problem}`;
        await sleep(RETRY_PAUSE_MS, ctx.signal);
      }
    }),
  );
  const result = answered as { member: string; afterMs: number } | null;
  return {
    ok: result !== null,
    member: result?.member ?? null,
    afterMs: result?.afterMs ?? null,
    attempts,
    lastError: result === null ? lastError : null,
  };
}

/** Polls every member's status; a leader counts when two polls in a row agree (see leaderFromStatuses). */
async function watchLeader(
  ctx: CellContext,
  n: number,
  deadlineMs: number,
): Promise<CellObservation['leader']> {
  const start = ctx.clock.now();
  let previous: string | null = null;
  while (ctx.clock.now() < deadlineMs) {
    const leader = leaderFromStatuses(await ctx.cluster.status(300), n);
    const key = leader === null ? null : `${leader.member}@${leader.term}`;
    if (leader !== null && key === previous) {
      return { present: true, member: leader.member, term: leader.term, afterMs: ctx.clock.now() - start };
    }
    previous = key;
    await sleep(POLL_MS, ctx.signal);
  }
  return { present: false, member: null, term: null, afterMs: null };
}

/** Write latency (open loop, fixed rate) and throughput (closed loop) on a healthy cluster. */
async function measureWriteLatency(
  cluster: StartedEtcdCluster,
  load: LatencyLoad,
  clock: RunClock,
  signal: AbortSignal | undefined,
): Promise<LatencyBySize> {
  const n = cluster.members.length;
  progress(
    `quorum matrix: write latency on ${n} members, ${load.ratePerSecond} writes/s for ${load.durationMs} ms`,
  );
  const common = {
    durationMs: load.durationMs,
    mix: { put: 1 },
    keyPrefix: `latency/`,
    callTimeoutMs: 2_000,
    clock,
    ...(signal === undefined ? {} : { signal }),
  };
  const open = await runWorkload(cluster, {
    ...common,
    mode: 'open-loop',
    ratePerSecond: load.ratePerSecond,
    clients: load.clients,
  });
  const closed = await runWorkload(cluster, {
    ...common,
    mode: 'closed-loop',
    clients: load.closedLoopClients,
  });
  return {
    members: n,
    openLoop: summarizeOperations(open.records),
    closedLoop: summarizeOperations(closed.records),
  };
}

// ---------------------------------------------------------------- availability

export interface AvailabilityRunOptions {
  /** Cluster size. Default 3. */
  readonly members?: number;
  /** Scaled mean time to failure and to repair of each member. */
  readonly mttfMs: number;
  readonly mttrMs: number;
  readonly durationMs: number;
  readonly seed?: number;
  /** How often the probe asks every member for its status. Default 100 ms. */
  readonly probeIntervalMs?: number;
  /** Batches for the batch-means confidence interval. Default 10. */
  readonly batches?: number;
  readonly heartbeatMs?: number;
  readonly electionTimeoutMs?: number;
  readonly image?: string;
  readonly clock?: RunClock;
  readonly signal?: AbortSignal;
}

export interface FractionWithInterval {
  /** Fraction of the run without quorum. */
  readonly fraction: number;
  readonly interval: ConfidenceInterval;
}

export interface AvailabilityResult {
  readonly members: number;
  readonly mttfMs: number;
  readonly mttrMs: number;
  readonly durationMs: number;
  readonly seed: number;
  /** p = MTTR / (MTTF + MTTR) and the model's unavailability at that p. */
  readonly p: number;
  readonly predicted: number;
  /** The random schedule as planned: time with more than ⌊(n−1)/2⌋ members meant to be down. */
  readonly planned: FractionWithInterval;
  /** As executed: from each kill's start to its restart's return (the lab's own delays included). */
  readonly executed: FractionWithInterval & {
    /** Fraction of time each member was down, averaged: the p the run really had. */
    readonly memberDownFraction: number;
    /** The model at that observed p. */
    readonly predictedAtObservedP: number;
  };
  /** Probed on the cluster: no member reporting a leader that a majority follows. */
  readonly probed: FractionWithInterval & { readonly samples: number };
  readonly failures: number;
  readonly faultMechanism: string;
  readonly environment: Record<string, unknown>;
  readonly claims: readonly HypothesisCheck[];
  readonly wallTimeMs: number;
}

/** Checks the options before anything starts. */
export function validateAvailabilityOptions(options: AvailabilityRunOptions): void {
  const members = options.members ?? 3;
  if (!Number.isInteger(members) || members < 1 || members > 7) {
    throw new BadInputError(`availability members must be an integer from 1 to 7, got ${members}`);
  }
  for (const [name, value] of [
    ['mttf', options.mttfMs],
    ['mttr', options.mttrMs],
    ['availability duration', options.durationMs],
    ['probe interval', options.probeIntervalMs ?? 100],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0)
      throw new BadInputError(`${name} must be a positive duration, got ${value} ms`);
  }
  const batches = options.batches ?? 10;
  if (!Number.isInteger(batches) || batches < 2)
    throw new BadInputError(`batches must be an integer >= 2, got ${batches}`);
  validateEtcdOptions({
    heartbeatMs: options.heartbeatMs ?? QUORUM_TIMING.heartbeatMs,
    electionTimeoutMs: options.electionTimeoutMs ?? QUORUM_TIMING.electionTimeoutMs,
  });
}

/**
 * Members fail (SIGKILL) and recover (restart with their data) on a seeded exponential schedule
 * while a probe polls for a leader every probeIntervalMs; the fraction of time without quorum —
 * planned, executed and probed — is compared with the binomial model.
 */
export async function runAvailability(options: AvailabilityRunOptions): Promise<AvailabilityResult> {
  validateAvailabilityOptions(options);
  const n = options.members ?? 3;
  const seed = options.seed ?? 1;
  const batches = options.batches ?? 10;
  const clock = options.clock ?? new RunClock();
  const wallStart = clock.now();
  const schedule = generateFailureSchedule({
    members: n,
    mttfMs: options.mttfMs,
    mttrMs: options.mttrMs,
    durationMs: options.durationMs,
    seed,
  });
  const builder = new EtcdCluster()
    .withMembers(n)
    .withEtcdOptions({
      heartbeatMs: options.heartbeatMs ?? QUORUM_TIMING.heartbeatMs,
      electionTimeoutMs: options.electionTimeoutMs ?? QUORUM_TIMING.electionTimeoutMs,
      preVote: true,
    })
    .withDataDir('memory');
  if (options.image !== undefined) builder.withImage(options.image);
  progress(`availability: starting a ${n}-member cluster`);
  const cluster = await builder.start();
  const handles = new Map<string, FaultHandle>();
  const executed: Interval[][] = cluster.members.map(() => []);
  const samples: ProbeSample[] = [];
  let faultMechanism = 'sigkill';
  let environment: Record<string, unknown>;
  try {
    await cluster.waitForStableLeader({ timeoutMs: RECOVERY_TIMEOUT_MS });
    try {
      await runSchedule(cluster, clock, schedule, options, executed, samples, handles, (mechanism) => {
        faultMechanism = mechanism;
      });
    } finally {
      for (const handle of handles.values()) await handle.heal();
    }
    await cluster.waitForStableLeader({ timeoutMs: RECOVERY_TIMEOUT_MS });
    await cluster.waitForConvergence({ timeoutMs: RECOVERY_TIMEOUT_MS });
    environment = cluster.describe();
  } finally {
    await cluster.dispose();
  }

  const window = { fromMs: 0, toMs: options.durationMs };
  const withInterval = (intervals: readonly Interval[]): FractionWithInterval => ({
    fraction: overlapMs(intervals, window) / options.durationMs,
    interval: batchMeansInterval(intervals, window, batches),
  });
  const p = memberDownProbability({
    mttfHours: options.mttfMs / 3_600_000,
    mttrHours: options.mttrMs / 3_600_000,
  });
  const predicted = unavailability(n, p);
  const memberDownFraction =
    executed.reduce((sum, intervals) => sum + overlapMs(intervals, window), 0) / (n * options.durationMs);
  const probed = {
    ...withInterval(unavailableFromSamples(samples, options.durationMs)),
    samples: samples.length,
  };
  const planned = withInterval(noQuorumIntervals(schedule.downIntervals, window));
  return {
    members: n,
    mttfMs: options.mttfMs,
    mttrMs: options.mttrMs,
    durationMs: options.durationMs,
    seed,
    p,
    predicted,
    planned,
    executed: {
      ...withInterval(noQuorumIntervals(executed, window)),
      memberDownFraction,
      predictedAtObservedP: unavailability(n, memberDownFraction),
    },
    probed,
    failures: schedule.downIntervals.flat().length,
    faultMechanism,
    environment,
    claims: availabilityClaims(
      n,
      { p, interval: planned.interval },
      { p: memberDownFraction, interval: probed.interval },
    ),
    wallTimeMs: clock.now() - wallStart,
  };
}

/**
 * Executes the schedule from now on: one loop per member (kill at each failure, restart at each
 * repair, never overlapping for one member) and a probe asking every member for its status.
 * Executed down intervals and probe samples are appended to the arrays given.
 */
async function runSchedule(
  cluster: StartedEtcdCluster,
  clock: RunClock,
  schedule: ReturnType<typeof generateFailureSchedule>,
  options: AvailabilityRunOptions,
  executed: Interval[][],
  samples: ProbeSample[],
  handles: Map<string, FaultHandle>,
  onMechanism: (mechanism: string) => void,
): Promise<void> {
  const n = cluster.members.length;
  const probeIntervalMs = options.probeIntervalMs ?? 100;
  const t0 = clock.now();
  const end = t0 + options.durationMs;
  progress(
    `availability: ${(options.durationMs / 1000).toFixed(0)} s of failures and repairs on ${n} members`,
  );
  const events = scheduleEvents(schedule);
  const runMember = async (index: number): Promise<void> => {
    const member = cluster.members[index];
    const intervals = executed[index];
    if (member === undefined || intervals === undefined) return;
    for (const event of events.filter((e) => e.member === index)) {
      await sleep(Math.max(0, t0 + event.atMs - clock.now()), options.signal);
      if (clock.now() >= end) return;
      if (event.action === 'fail') {
        const downFrom = clock.now() - t0;
        const handle = await kill(member.name).inject({ cluster, clock });
        onMechanism(handle.mechanism);
        handles.set(member.name, handle);
        intervals.push({ fromMs: downFrom, toMs: options.durationMs });
      } else {
        await handles.get(member.name)?.heal();
        handles.delete(member.name);
        const open = intervals.pop();
        if (open !== undefined) {
          intervals.push({ fromMs: open.fromMs, toMs: Math.min(options.durationMs, clock.now() - t0) });
        }
      }
    }
  };
  const probe = async (): Promise<void> => {
    while (clock.now() < end) {
      const atMs = clock.now() - t0;
      const statuses = await cluster.status(Math.min(300, 2 * probeIntervalMs));
      samples.push({ atMs, available: leaderFromStatuses(statuses, n) !== null });
      await sleep(Math.max(0, t0 + atMs + probeIntervalMs - clock.now()), options.signal);
    }
  };
  await Promise.all([...cluster.members.map((_, i) => runMember(i)), probe()]);
}
