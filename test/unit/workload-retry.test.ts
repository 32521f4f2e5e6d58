import { describe, expect, it } from 'vitest';
import type { OperationRecord } from '../../src/history/operation-record.ts';
import { clientOperations, isRetriable, withRetries } from '../../src/workload/retry-policy.ts';
import { longestOperationMs } from '../../src/workload/run-workload.ts';

const record = (fields: Partial<OperationRecord> & Pick<OperationRecord, 'id'>): OperationRecord => ({
  clientId: 'c0',
  kind: 'put',
  startMs: 0,
  endMs: 1,
  outcome: 'ok',
  ...fields,
});

describe('withRetries', () => {
  it('tries again after a retriable failure and returns the first success', async () => {
    const seen: number[] = [];
    const result = await withRetries({ attempts: 3, backoffMs: 1 }, (attempt) => {
      seen.push(attempt);
      return Promise.resolve(
        attempt < 2
          ? record({ id: attempt, outcome: 'fail', errorClass: 'unreachable' })
          : record({ id: attempt, outcome: 'ok' }),
      );
    });
    expect(seen).toEqual([1, 2]);
    expect(result.id).toBe(2);
  });

  it('gives up after the attempts and returns the last failure', async () => {
    const seen: number[] = [];
    const result = await withRetries({ attempts: 3, backoffMs: 1 }, (attempt) => {
      seen.push(attempt);
      return Promise.resolve(record({ id: attempt, outcome: 'indeterminate', errorClass: 'timeout' }));
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(result).toMatchObject({ id: 3, errorClass: 'timeout' });
  });

  it('does not retry what would fail anywhere', async () => {
    let calls = 0;
    const result = await withRetries({ attempts: 5, backoffMs: 1 }, () => {
      calls += 1;
      return Promise.resolve(record({ id: calls, outcome: 'fail', errorClass: 'no-space' }));
    });
    expect(calls).toBe(1);
    expect(result.errorClass).toBe('no-space');
    expect(isRetriable(record({ id: 1, outcome: 'fail', errorClass: 'client-backlog' }))).toBe(false);
    expect(isRetriable(record({ id: 1, outcome: 'fail', errorClass: 'no-leader' }))).toBe(true);
    expect(isRetriable(record({ id: 1 }))).toBe(false);
  });

  it('backs off exponentially between attempts', async () => {
    const sentAt: number[] = [];
    await withRetries({ attempts: 3, backoffMs: 40 }, (attempt) => {
      sentAt.push(performance.now());
      return Promise.resolve(record({ id: attempt, outcome: 'fail', errorClass: 'unavailable' }));
    });
    const [a = 0, b = 0, c = 0] = sentAt;
    expect(b - a).toBeGreaterThanOrEqual(39);
    expect(c - b).toBeGreaterThanOrEqual(79);
  });
});

describe('clientOperations', () => {
  it("folds a client's attempts into what the caller saw", () => {
    const records = [
      record({
        id: 1,
        operation: 1,
        attempt: 1,
        startMs: 10,
        endMs: 500,
        outcome: 'fail',
        errorClass: 'timeout',
      }),
      record({ id: 2, clientId: 'c1', startMs: 20, endMs: 25 }),
      record({ id: 3, operation: 1, attempt: 2, startMs: 550, endMs: 560 }),
      record({ id: 4, operation: 2, attempt: 1, startMs: 600, endMs: 605 }),
    ];
    const ops = clientOperations(records);
    expect(ops.map((o) => [o.id, o.startMs, o.endMs, o.outcome])).toEqual([
      [2, 20, 25, 'ok'],
      [3, 10, 560, 'ok'],
      [4, 600, 605, 'ok'],
    ]);
  });

  it('keeps operations of different clients with the same number apart', () => {
    const ops = clientOperations([
      record({ id: 1, clientId: 'a0', operation: 1, attempt: 1, outcome: 'fail', errorClass: 'timeout' }),
      record({ id: 2, clientId: 'b0', operation: 1, attempt: 1 }),
    ]);
    expect(ops.map((o) => [o.clientId, o.outcome])).toEqual([
      ['a0', 'fail'],
      ['b0', 'ok'],
    ]);
  });
});

describe('the longest an operation can be out', () => {
  it('is the deadline without retries, and every attempt plus the back-offs with them', () => {
    expect(longestOperationMs(1_000, undefined)).toBe(1_000);
    // 5 attempts of 1 s, back-offs 100 + 200 + 400 + 800 ms.
    expect(longestOperationMs(1_000, { attempts: 5, backoffMs: 100 })).toBe(6_500);
    expect(longestOperationMs(500, { attempts: 2 })).toBe(1_050);
  });
});
