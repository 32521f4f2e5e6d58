/**
 * One cell of the quorum matrix on a running cluster: a sentinel written and replicated, k members
 * taken down (SIGKILL or isolation), the four questions asked (write, linearizable read,
 * serializable read, leader), healed and recovered. The comparison with the model is pure
 * (matrix.ts).
 */
import type { EtcdMember } from '../../cluster/etcd-member.ts';
import type { StartedEtcdCluster } from '../../cluster/started-etcd-cluster.ts';
import { ClusterError, LabTimeoutError } from '../../errors.ts';
import type { FaultHandle } from '../../faults/fault.ts';
import { split } from '../../faults/network/partition.ts';
import { kill } from '../../faults/process/process-fault.ts';
import type { OperationRecord } from '../../history/operation-record.ts';
import type { RecordingClient } from '../../history/recording-client.ts';
import { sleep, type RunClock } from '../../util/clock.ts';
import { progress } from '../../util/log.ts';
import {
  compareCell,
  leaderFromStatuses,
  membersToTakeDown,
  predictCell,
  type Answer,
  type CellObservation,
  type MatrixCell,
  type Mechanism,
} from './matrix.ts';
import { hasQuorum } from './model.ts';
import type { MatrixSettings } from './quorum-options.ts';

/** Where every key of the matrix lives; `SENTINEL_KEY` holds the value written just before each fault. */
export const KEY_PREFIX = 'quorum/';
const SENTINEL_KEY = `${KEY_PREFIX}sentinel`;
/** Pause between attempts that failed fast (refused connection, "no leader"), so a cell does not spin. */
const RETRY_PAUSE_MS = 50;
const POLL_MS = 50;
export const RECOVERY_TIMEOUT_MS = 30_000;

/** What a cell works with: the cluster, the run clock, one recording client per member, the settings. */
export interface CellContext {
  readonly cluster: StartedEtcdCluster;
  readonly clock: RunClock;
  readonly recorders: ReadonlyMap<string, RecordingClient>;
  readonly settings: MatrixSettings;
  readonly signal: AbortSignal | undefined;
}

function recorderOf(ctx: CellContext, member: string): RecordingClient {
  const recorder = ctx.recorders.get(member);
  if (recorder === undefined) throw new ClusterError(`no client for member ${member}`);
  return recorder;
}

/** One cell: sentinel written and replicated, k members down, observed, healed, recovered. */
export async function runCell(
  ctx: CellContext,
  n: number,
  k: number,
  mechanism: Mechanism,
): Promise<MatrixCell> {
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
