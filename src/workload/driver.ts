import { LabError } from '../errors.ts';
import type { History } from '../history/history.ts';
import type { ClientRole, OperationRecord } from '../history/operation-record.ts';
import type { CallTiming, Clock } from '../history/recording-client.ts';
import { plannedRecordFields, type PlannedOperation } from './operation-generator.ts';

/** Time as the driver sees it; injected so the scheduling can be tested on virtual time. */
export interface WorkloadRuntime {
  readonly clock: Clock;
  /** Resolves after `ms`; rejects promptly when `signal` aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** One client as the driver sees it: where its next operation comes from and how to run it. */
export interface DriverClient {
  readonly clientId: string;
  readonly role?: ClientRole | undefined;
  next(): PlannedOperation;
  /** Runs and records one operation; resolves to its record and must not reject because of etcd. */
  execute(operation: PlannedOperation, timing: CallTiming): Promise<OperationRecord>;
}

export type Pacing =
  | {
      /** Sends at fixed intended times i / rate, whatever the responses: no coordinated omission. */
      readonly mode: 'open-loop';
      readonly ratePerSecond: number;
      /** Operations due while this many are outstanding are recorded as 'client-backlog' failures. */
      readonly maxInFlight: number;
    }
  | {
      /** Each client sends its next operation when the previous one returns (etcd's benchmark tool). */
      readonly mode: 'closed-loop';
    };

export interface WorkloadProgress {
  /** Since the run started. */
  readonly elapsedMs: number;
  readonly scheduled: number;
  readonly completed: number;
  readonly inFlight: number;
  readonly ok: number;
  readonly fail: number;
  readonly indeterminate: number;
  /** Completions per second since the previous report. */
  readonly opsPerSecond: number;
  /** Failed and indeterminate operations so far, by error class. */
  readonly errors: Readonly<Record<string, number>>;
}

export interface DriveOptions {
  readonly pacing: Pacing;
  /** Stop scheduling after this long. At least one of durationMs and operations is needed. */
  readonly durationMs?: number;
  /** Stop after this many operations (all clients together). */
  readonly operations?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: WorkloadProgress) => void;
  readonly progressIntervalMs?: number;
}

export interface DriveResult {
  /** Run clock when scheduling began; the first open-loop operation is intended at this time. */
  readonly startedMs: number;
  /** Run clock when the last operation returned. */
  readonly endedMs: number;
  /** Operations started or, open loop, recorded as backlog: always the number of records added. */
  readonly scheduled: number;
  /** Open loop: operations recorded as 'client-backlog' because the in-flight cap was reached. */
  readonly backlogged: number;
  /** Whether the signal stopped the run before its duration or operation count. */
  readonly aborted: boolean;
  /** Open loop: the latest an operation was actually sent after its intended time. */
  readonly maxSendLagMs: number | null;
}

class Tally {
  ok = 0;
  fail = 0;
  indeterminate = 0;
  readonly errors = new Map<string, number>();

  get completed(): number {
    return this.ok + this.fail + this.indeterminate;
  }

  add(record: OperationRecord): void {
    this[record.outcome] += 1;
    if (record.errorClass !== undefined) {
      this.errors.set(record.errorClass, (this.errors.get(record.errorClass) ?? 0) + 1);
    }
  }
}

function validate(clients: readonly DriverClient[], options: DriveOptions): void {
  if (clients.length === 0) throw new LabError('a workload needs at least one client');
  if (options.durationMs === undefined && options.operations === undefined) {
    throw new LabError('a workload needs a durationMs or an operations count');
  }
}

/**
 * Runs clients under the pacing until the duration or operation count is reached or the
 * signal aborts. On abort nothing new is started, and operations already out are awaited
 * and recorded. Every scheduled operation ends up in `history`.
 */
export async function driveWorkload(
  clients: readonly DriverClient[],
  history: History,
  runtime: WorkloadRuntime,
  options: DriveOptions,
): Promise<DriveResult> {
  validate(clients, options);
  const { clock } = runtime;
  const startedMs = clock.now();
  const tally = new Tally();
  const state = { scheduled: 0, backlogged: 0, inFlight: 0, maxSendLagMs: null as number | null };
  const stopProgress = new AbortController();
  const internal = new AbortController();
  const stop = options.signal ? AbortSignal.any([options.signal, internal.signal]) : internal.signal;
  let failure: unknown;
  let aborted = false;

  const run = (client: DriverClient, operation: PlannedOperation, timing: CallTiming): Promise<void> => {
    state.scheduled += 1;
    state.inFlight += 1;
    return client.execute(operation, timing).then(
      (record) => {
        state.inFlight -= 1;
        tally.add(record);
      },
      (error: unknown) => {
        // A bug in the executor, not an etcd failure: stop the run and report it.
        state.inFlight -= 1;
        failure ??= error;
        internal.abort(error);
      },
    );
  };

  const progress = reportProgress(runtime, options, stopProgress.signal, () => ({
    elapsedMs: clock.now() - startedMs,
    scheduled: state.scheduled,
    completed: tally.completed,
    inFlight: state.inFlight,
    ok: tally.ok,
    fail: tally.fail,
    indeterminate: tally.indeterminate,
    errors: Object.fromEntries(tally.errors),
  }));

  try {
    if (options.pacing.mode === 'open-loop') {
      const pacing = options.pacing;
      const inFlight = new Set<Promise<void>>();
      for (let i = 0; ; i += 1) {
        if (options.operations !== undefined && i >= options.operations) break;
        // Each intended time is computed from i, not by adding up intervals: no drift.
        const offsetMs = (i * 1000) / pacing.ratePerSecond;
        if (options.durationMs !== undefined && offsetMs >= options.durationMs) break;
        const intendedMs = startedMs + offsetMs;
        // A timer may fire up to a millisecond early (libuv keeps whole-millisecond loop
        // time): sleep again rather than send before the intended time.
        for (
          let waitMs = intendedMs - clock.now();
          waitMs > 0 && !stop.aborted;
          waitMs = intendedMs - clock.now()
        ) {
          try {
            await runtime.sleep(waitMs, stop);
          } catch {
            // aborted; checked below
          }
        }
        if (stop.aborted) {
          aborted = options.signal?.aborted ?? false;
          break;
        }
        const client = clients[i % clients.length];
        if (client === undefined) break;
        const operation = client.next();
        if (inFlight.size >= pacing.maxInFlight) {
          state.scheduled += 1;
          state.backlogged += 1;
          const record = backlogRecord(history, client, operation, intendedMs, pacing.maxInFlight);
          history.append(record);
          tally.add(record);
          continue;
        }
        state.maxSendLagMs = Math.max(state.maxSendLagMs ?? 0, clock.now() - intendedMs);
        const pending = run(client, operation, { intendedMs });
        inFlight.add(pending);
        void pending.finally(() => inFlight.delete(pending));
      }
      await Promise.all(inFlight);
    } else {
      const limitReached = (): boolean => {
        if (options.operations !== undefined && state.scheduled >= options.operations) return true;
        if (options.durationMs !== undefined && clock.now() - startedMs >= options.durationMs) return true;
        if (stop.aborted) aborted = options.signal?.aborted ?? false;
        return stop.aborted;
      };
      await Promise.all(
        clients.map(async (client) => {
          while (!limitReached()) await run(client, client.next(), {});
        }),
      );
    }
  } finally {
    stopProgress.abort();
    await progress;
  }

  if (failure !== undefined)
    throw new LabError('a workload operation failed unexpectedly', { cause: failure });
  return {
    startedMs,
    endedMs: clock.now(),
    scheduled: state.scheduled,
    backlogged: state.backlogged,
    aborted,
    maxSendLagMs: state.maxSendLagMs,
  };
}

function backlogRecord(
  history: History,
  client: Pick<DriverClient, 'clientId' | 'role'>,
  operation: PlannedOperation,
  intendedMs: number,
  maxInFlight: number,
): OperationRecord {
  const { kind, ...request } = plannedRecordFields(operation);
  return {
    id: history.nextId(),
    clientId: client.clientId,
    ...(client.role === undefined ? {} : { role: client.role }),
    kind,
    startMs: intendedMs,
    endMs: intendedMs,
    outcome: 'fail',
    ...request,
    errorClass: 'client-backlog',
    errorMessage: `not sent: ${maxInFlight} operations already in flight`,
  };
}

async function reportProgress(
  runtime: WorkloadRuntime,
  options: DriveOptions,
  signal: AbortSignal,
  snapshot: () => Omit<WorkloadProgress, 'opsPerSecond'>,
): Promise<void> {
  const { onProgress } = options;
  if (onProgress === undefined) return;
  const intervalMs = options.progressIntervalMs ?? 1_000;
  let previousCompleted = 0;
  let previousMs = runtime.clock.now();
  for (;;) {
    try {
      await runtime.sleep(intervalMs, signal);
    } catch {
      return;
    }
    const current = snapshot();
    const nowMs = runtime.clock.now();
    const elapsedSeconds = (nowMs - previousMs) / 1000;
    const opsPerSecond = elapsedSeconds > 0 ? (current.completed - previousCompleted) / elapsedSeconds : 0;
    previousCompleted = current.completed;
    previousMs = nowMs;
    onProgress({ ...current, opsPerSecond });
  }
}
