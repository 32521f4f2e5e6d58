import pRetry from 'p-retry';
import type { ErrorClass } from '../history/error-classification.ts';
import type { OperationRecord } from '../history/operation-record.ts';

/**
 * How a retrying client behaves, like a Kubernetes component in front of etcd: a failed
 * call is tried again on the next member, after an exponential back-off, up to `attempts`
 * calls in all. Each attempt is recorded on its own; the caller sees the last one.
 */
export interface RetryOptions {
  /** Calls in all, the first included. At least 2 for any retry to happen. */
  readonly attempts: number;
  /** Wait before the first retry; doubled for each further one. Default 50 ms. */
  readonly backoffMs?: number;
}

/**
 * Failures another member (or the same one a moment later) may not have: the member is
 * gone or has no leader, the call timed out, the leader changed under it. Not retried: what
 * would fail the same way anywhere (bad request, no space, unknown lease) and what never
 * reached etcd because the lab itself was overloaded or shutting down.
 */
const RETRIABLE: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'timeout',
  'server-timeout',
  'no-leader',
  'not-leader',
  'leader-changed',
  'proposal-dropped',
  'too-many-requests',
  'stopped',
  'unreachable',
  'connection-lost',
  'unavailable',
  'canceled',
]);

export function isRetriable(record: OperationRecord): boolean {
  return record.outcome !== 'ok' && record.errorClass !== undefined && RETRIABLE.has(record.errorClass);
}

class RetriableOutcome extends Error {
  constructor(readonly record: OperationRecord) {
    super(record.errorMessage ?? record.errorClass ?? 'failed');
  }
}

/**
 * Runs `attempt(n)` (n = 1, 2, …) with p-retry until it returns a record that is ok or not
 * worth retrying, or the attempts run out; resolves to the last record, never rejects
 * because of etcd.
 */
export async function withRetries(
  options: RetryOptions,
  attempt: (attemptNumber: number) => Promise<OperationRecord>,
): Promise<OperationRecord> {
  try {
    return await pRetry(
      async (attemptNumber) => {
        const record = await attempt(attemptNumber);
        if (isRetriable(record)) throw new RetriableOutcome(record);
        return record;
      },
      {
        retries: Math.max(0, options.attempts - 1),
        minTimeout: options.backoffMs ?? 50,
        factor: 2,
        shouldRetry: ({ error }) => error instanceof RetriableOutcome,
      },
    );
  } catch (error) {
    if (error instanceof RetriableOutcome) return error.record;
    throw error;
  }
}

/**
 * What each caller saw: the attempts of one logical operation folded into one record that
 * starts when the first attempt was due and ends with the last attempt's outcome. Records
 * of clients that do not retry pass through unchanged. Output is in completion order.
 */
export function clientOperations(records: readonly OperationRecord[]): OperationRecord[] {
  const firstStart = new Map<string, number>();
  const last = new Map<string, OperationRecord>();
  const passThrough: OperationRecord[] = [];
  for (const record of records) {
    if (record.operation === undefined) {
      passThrough.push(record);
      continue;
    }
    const key = `${record.clientId}#${record.operation}`;
    firstStart.set(key, Math.min(record.startMs, firstStart.get(key) ?? Infinity));
    const previous = last.get(key);
    if (previous === undefined || (record.attempt ?? 0) > (previous.attempt ?? 0)) last.set(key, record);
  }
  const folded = [...last].map(([key, record]) => ({
    ...record,
    startMs: firstStart.get(key) ?? record.startMs,
  }));
  return [...passThrough, ...folded].sort((a, b) => a.endMs - b.endMs || a.id - b.id);
}
