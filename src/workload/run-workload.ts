import type { Etcd3 } from 'etcd3';
import type { ClientOptions } from '../cluster/clients.ts';
import type { MemberRef, StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { BadInputError } from '../errors.ts';
import { History } from '../history/history.ts';
import type { ClientRole, OperationRecord } from '../history/operation-record.ts';
import { RecordingClient } from '../history/recording-client.ts';
import { RunClock, sleep } from '../util/clock.ts';
import { driveWorkload, type Pacing, type WorkloadProgress, type WorkloadRuntime } from './driver.ts';
import { DEFAULT_MIX, OperationGenerator, validateMix, type OperationMix } from './operation-generator.ts';
import type { RetryOptions } from './retry-policy.ts';
import { WorkloadClient } from './workload-client.ts';

/** What the workload needs from a cluster: clients to all members or to one. */
export type WorkloadTarget = Pick<StartedEtcdCluster, 'client' | 'memberClient' | 'members'>;

export type ConnectTo = 'cluster' | 'spread' | { readonly member: MemberRef };

interface CommonWorkloadOptions {
  /** Concurrent clients, each its own etcd3 client. Default 1. */
  readonly clients?: number;
  /**
   * Where the clients connect. 'cluster' (default): every client gets all members'
   * endpoints and etcd3 picks one at random per call. 'spread': client i talks only to
   * member i mod n. `{ member }` (a member or its name): every client talks only to it.
   *
   * The clients share one HTTP/2 connection per member (grpc-js pools subchannels per
   * process), like etcd's benchmark with `--conns=1`.
   */
  readonly connectTo?: ConnectTo;
  /**
   * Clients retry failed calls on the next member (see RetryOptions); each attempt is its own
   * record. A retrying client holds a connection to every member and starts at member
   * i mod n ('cluster' and 'spread'), or at the given member.
   */
  readonly retry?: RetryOptions;
  /** Client ids are `${clientIdPrefix}${index}`; another workload in the same history needs its own. Default 'c'. */
  readonly clientIdPrefix?: string;
  /** What these clients work for, recorded on each of their operations (see ClientRole). */
  readonly clientRole?: ClientRole;
  /** Stop scheduling after this long. At least one of durationMs and operations is needed. */
  readonly durationMs?: number;
  /** Stop after this many operations, all clients together. */
  readonly operations?: number;
  /** Relative weights of the operations. Default {@link DEFAULT_MIX}. */
  readonly mix?: OperationMix;
  /** Number of distinct keys. Default 100. */
  readonly keyCount?: number;
  /** Default 'workload/'. */
  readonly keyPrefix?: string;
  /** Size of each written value. Default 64. */
  readonly valueBytes?: number;
  /** TTL of granted leases. Default 10 s. */
  readonly leaseTtlSeconds?: number;
  /** Seeds each client's operation sequence. Default 1. */
  readonly seed?: number;
  /** Per-call deadline. Default 5 s (the lab's client default). */
  readonly callTimeoutMs?: number;
  /** Default 2 s. */
  readonly dialTimeoutMs?: number;
  /** The run's clock; pass the one faults and trackers use so their times line up. Default: a new one. */
  readonly clock?: RunClock;
  /** Append to this history (e.g. one history across phases). Default: a new one. */
  readonly history?: History;
  /** Stops the run: nothing new is sent, operations already out are awaited and recorded. */
  readonly signal?: AbortSignal;
  /** Called about every `progressIntervalMs` (default 1 s) while the run goes on. */
  readonly onProgress?: (progress: WorkloadProgress) => void;
  readonly progressIntervalMs?: number;
  /**
   * Before the run starts, open each client's connections with unrecorded serializable
   * reads, so connection setup is not measured as the first operations' latency. Default true.
   */
  readonly warmUp?: boolean;
  /**
   * Called once, after warm-up, just before the first operation is scheduled, with that
   * time on the run clock: what a fault schedule should be timed from.
   */
  readonly onStart?: (startedMs: number) => void;
}

export interface OpenLoopOptions extends CommonWorkloadOptions {
  /**
   * Operation i is intended to be sent at start + i / ratePerSecond, round-robin over the
   * clients, whether or not earlier operations have returned; latency is measured from the
   * intended time. A stall therefore shows as the latency of every operation that waited,
   * not of one (no coordinated omission).
   */
  readonly mode: 'open-loop';
  readonly ratePerSecond: number;
  /**
   * Most operations outstanding at once. An operation due while this many are out is not
   * sent: it is recorded as a 'fail' with errorClass 'client-backlog' at its intended time
   * (it never reached etcd, so it definitely had no effect), and counted in `backlogged`.
   * Default: ratePerSecond × (the longest an operation can be out + 1 s) — callTimeoutMs,
   * or with retries every attempt's deadline plus the back-offs — more than a stall can pile
   * up before the deadlines fire, so by default only an overloaded load generator hits it.
   */
  readonly maxInFlight?: number;
}

export interface ClosedLoopOptions extends CommonWorkloadOptions {
  /** Each client sends its next operation when the previous one returns, like etcd's benchmark tool. */
  readonly mode: 'closed-loop';
}

export type WorkloadOptions = OpenLoopOptions | ClosedLoopOptions;

export interface WorkloadResult {
  /** The history the records were appended to. */
  readonly history: History;
  /** The records this run appended, in completion order. */
  readonly records: readonly OperationRecord[];
  readonly mode: 'open-loop' | 'closed-loop';
  /** Open loop only. */
  readonly ratePerSecond?: number;
  readonly maxInFlight?: number;
  readonly clients: number;
  readonly connectTo: string;
  readonly seed: number;
  readonly clock: RunClock;
  /** Run clock when scheduling began. */
  readonly startedMs: number;
  /** Run clock when the last operation returned. */
  readonly endedMs: number;
  /** Operations scheduled; equals `records.length`. */
  readonly scheduled: number;
  /** Open loop: operations not sent because `maxInFlight` were out (recorded as 'client-backlog'). */
  readonly backlogged: number;
  readonly aborted: boolean;
  /** Open loop: the latest any operation was actually sent after its intended time. */
  readonly maxSendLagMs: number | null;
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new BadInputError(`${what} must be an integer >= 1, got ${value}`);
  return value;
}

function positiveFinite(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new BadInputError(`${what} must be a positive number, got ${value}`);
  return value;
}

const realRuntime = (clock: RunClock): WorkloadRuntime => ({ clock, sleep });

/**
 * Runs a workload against a started cluster and returns its history. Every operation is
 * one attempt (the lab's clients do not retry) and is recorded whatever happened to it.
 */
export async function runWorkload(target: WorkloadTarget, options: WorkloadOptions): Promise<WorkloadResult> {
  const clientCount = positiveInteger(options.clients ?? 1, 'clients');
  if (options.durationMs === undefined && options.operations === undefined) {
    throw new BadInputError('a workload needs durationMs or operations');
  }
  if (options.durationMs !== undefined) positiveFinite(options.durationMs, 'durationMs');
  if (options.operations !== undefined) positiveInteger(options.operations, 'operations');
  if (options.progressIntervalMs !== undefined)
    positiveFinite(options.progressIntervalMs, 'progressIntervalMs');
  const mix = options.mix ?? DEFAULT_MIX;
  validateMix(mix);
  const space = {
    keyPrefix: options.keyPrefix ?? 'workload/',
    keyCount: positiveInteger(options.keyCount ?? 100, 'keyCount'),
    valueBytes: positiveInteger(options.valueBytes ?? 64, 'valueBytes'),
    leaseTtlSeconds: positiveInteger(options.leaseTtlSeconds ?? 10, 'leaseTtlSeconds'),
  };
  const seed = options.seed ?? 1;
  const callTimeoutMs = positiveFinite(options.callTimeoutMs ?? 5_000, 'callTimeoutMs');
  const clientOptions: ClientOptions = { callTimeoutMs, dialTimeoutMs: options.dialTimeoutMs ?? 2_000 };
  const pacing = pacingOf(options, longestOperationMs(callTimeoutMs, options.retry));
  const connectTo = options.connectTo ?? 'cluster';
  const clock = options.clock ?? new RunClock();
  const history = options.history ?? new History();
  const firstRecord = history.length;

  const retry = options.retry;
  if (retry !== undefined) positiveInteger(retry.attempts, 'retry.attempts');
  const connections = Array.from({ length: clientCount }, (_, index) =>
    retry === undefined
      ? [connect(target, connectTo, index, clientOptions)]
      : connectInRetryOrder(target, connectTo, index, clientOptions),
  );
  const etcdClients = connections.flat();
  try {
    if (options.warmUp ?? true) {
      const members = connectTo === 'cluster' && retry === undefined ? target.members.length : 1;
      await Promise.all(etcdClients.map((etcd) => warmUp(etcd, space.keyPrefix, members)));
    }
    const prefix = options.clientIdPrefix ?? 'c';
    const clients = connections.map((etcds, index) => {
      const clientId = `${prefix}${index}`;
      const recorders = etcds.map(
        (etcd) =>
          new RecordingClient(etcd, {
            clientId,
            clock,
            history,
            ...(options.clientRole === undefined ? {} : { role: options.clientRole }),
          }),
      );
      const [first, ...rest] = recorders;
      if (first === undefined) throw new BadInputError('the cluster has no members to connect to');
      return new WorkloadClient(
        [first, ...rest],
        new OperationGenerator(clientId, space, mix, seed, index),
        retry,
      );
    });
    options.onStart?.(clock.now());
    const driven = await driveWorkload(clients, history, realRuntime(clock), {
      pacing,
      ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
      ...(options.operations === undefined ? {} : { operations: options.operations }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.progressIntervalMs === undefined ? {} : { progressIntervalMs: options.progressIntervalMs }),
    });
    return {
      history,
      records: history.records.slice(firstRecord),
      mode: pacing.mode,
      ...(pacing.mode === 'open-loop'
        ? { ratePerSecond: pacing.ratePerSecond, maxInFlight: pacing.maxInFlight }
        : {}),
      clients: clientCount,
      connectTo: describeConnectTo(connectTo),
      seed,
      clock,
      ...driven,
    };
  } finally {
    for (const etcd of etcdClients) etcd.close();
  }
}

function describeConnectTo(connectTo: ConnectTo): string {
  if (typeof connectTo === 'string') return connectTo;
  return typeof connectTo.member === 'string' ? connectTo.member : connectTo.member.name;
}

/** How long one operation can be out: its deadline, or with retries all attempts' deadlines and back-offs. */
export function longestOperationMs(callTimeoutMs: number, retry: RetryOptions | undefined): number {
  if (retry === undefined) return callTimeoutMs;
  const backoffs = (retry.backoffMs ?? 50) * (2 ** Math.max(0, retry.attempts - 1) - 1);
  return retry.attempts * callTimeoutMs + backoffs;
}

function pacingOf(options: WorkloadOptions, longestMs: number): Pacing {
  if (options.mode === 'closed-loop') return { mode: 'closed-loop' };
  if (options.mode !== 'open-loop') {
    const mode: unknown = (options as { readonly mode?: unknown }).mode;
    throw new BadInputError(`mode must be 'open-loop' or 'closed-loop', got ${String(mode)}`);
  }
  const ratePerSecond = positiveFinite(options.ratePerSecond, 'ratePerSecond');
  const maxInFlight = positiveInteger(
    options.maxInFlight ?? Math.ceil((ratePerSecond * (longestMs + 1_000)) / 1_000),
    'maxInFlight',
  );
  return { mode: 'open-loop', ratePerSecond, maxInFlight };
}

function connect(target: WorkloadTarget, connectTo: ConnectTo, index: number, options: ClientOptions): Etcd3 {
  if (connectTo === 'cluster') return target.client(options);
  if (connectTo === 'spread') {
    const member = target.members[index % target.members.length];
    if (member === undefined) throw new BadInputError('the cluster has no members to connect to');
    return target.memberClient(member, options);
  }
  return target.memberClient(connectTo.member, options);
}

/** A retrying client's connections, one per member, starting where a plain client would connect. */
function connectInRetryOrder(
  target: WorkloadTarget,
  connectTo: ConnectTo,
  index: number,
  options: ClientOptions,
): Etcd3[] {
  const members = target.members;
  if (members.length === 0) throw new BadInputError('the cluster has no members to connect to');
  const preferred =
    typeof connectTo === 'object'
      ? members.findIndex((m) => m === connectTo.member || m.name === connectTo.member)
      : index % members.length;
  if (preferred < 0) throw new BadInputError('connectTo names a member the cluster does not have');
  return members.map((_, offset) =>
    target.memberClient(members[(preferred + offset) % members.length] ?? members[0]!, options),
  );
}

const WARM_UP_MS = 2_000;

/**
 * A client to all members picks a member at random per call, so read until every member
 * has answered once, for at most WARM_UP_MS; errors are ignored (the run will record them).
 */
async function warmUp(etcd: Etcd3, key: string, memberCount: number): Promise<void> {
  const answered = new Set<string>();
  const deadline = Date.now() + WARM_UP_MS;
  for (let attempt = 0; attempt < memberCount * 8 && answered.size < memberCount; attempt += 1) {
    if (Date.now() >= deadline) return;
    try {
      const response = await etcd.kv.range({ key: Buffer.from(key), serializable: true }, { deadline });
      answered.add(response.header.member_id);
    } catch {
      // a member that is down stays cold; the workload measures that
    }
  }
}
