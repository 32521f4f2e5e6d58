import { GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';
import { describe, expect, it } from 'vitest';

import { History } from '../../src/history/history.ts';
import type { OperationRecord } from '../../src/history/operation-record.ts';
import { recordOperation, type Clock } from '../../src/history/recording-client.ts';
import { summarizeOperations, type TimedOutcome } from '../../src/measure/latency-stats.ts';

/** A clock that reads from a script of times, one per `now()` call. */
function scriptedClock(...times: number[]): Clock {
  return {
    now: () => {
      const next = times.shift();
      if (next === undefined) throw new Error('clock script exhausted');
      return next;
    },
  };
}

const TIMEOUT = new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded after 5.001s');

describe('recordOperation', () => {
  it('records an ok call with call and return times and the response', async () => {
    const history = new History();
    const record = await recordOperation(
      { clientId: 'c1', clock: scriptedClock(10, 12.5), history },
      { kind: 'put', key: 'k', value: 'v' },
      () => Promise.resolve({ revision: 42, memberId: '123', modRevision: 42 }),
    );

    expect(record).toEqual({
      id: 0,
      clientId: 'c1',
      kind: 'put',
      startMs: 10,
      endMs: 12.5,
      outcome: 'ok',
      key: 'k',
      value: 'v',
      revision: 42,
      memberId: '123',
      modRevision: 42,
    });
    expect(history.records).toEqual([record]);
    // An OperationRecord is a latency-stats TimedOutcome as it is.
    const timed: TimedOutcome = record;
    expect(summarizeOperations([timed]).latency.max).toBe(2.5);
  });

  it('starts the clock at the intended send time and keeps the actual one', async () => {
    const history = new History();
    const record = await recordOperation(
      { clientId: 'c1', clock: scriptedClock(107, 110), history },
      { kind: 'get', key: 'k', consistency: 'serializable' },
      () => Promise.resolve({ found: false }),
      { intendedMs: 100 },
    );
    expect(record).toMatchObject({ startMs: 100, sentMs: 107, endMs: 110, consistency: 'serializable' });
  });

  it('records a write that timed out as indeterminate and a read as failed, without throwing', async () => {
    const history = new History();
    const context = { clientId: 'c2', clock: scriptedClock(0, 5_000, 5_000, 10_000), history };
    const write = await recordOperation(context, { kind: 'put', key: 'k', value: 'v' }, () =>
      Promise.reject(TIMEOUT),
    );
    const read = await recordOperation(context, { kind: 'get', key: 'k', consistency: 'linearizable' }, () =>
      Promise.reject(new GRPCUnavailableError('14 UNAVAILABLE: etcdserver: leader changed')),
    );

    expect(write).toMatchObject({
      id: 0,
      outcome: 'indeterminate',
      errorClass: 'timeout',
      errorMessage: TIMEOUT.message,
      startMs: 0,
      endMs: 5_000,
    });
    expect(write.revision).toBeUndefined();
    expect(read).toMatchObject({ id: 1, outcome: 'fail', errorClass: 'leader-changed' });
    expect(history.length).toBe(2);
  });

  it('gives ids in call order even when calls return out of order', async () => {
    const history = new History();
    let now = 0;
    const context = { clientId: 'c', clock: { now: () => now++ }, history };
    let releaseFirst: () => void = () => undefined;
    const first = recordOperation(context, { kind: 'delete', key: 'a' }, async () => {
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      return { deleted: 1 };
    });
    const second = await recordOperation(context, { kind: 'delete', key: 'b' }, () =>
      Promise.resolve({ deleted: 0 }),
    );
    releaseFirst();
    const firstRecord: OperationRecord = await first;

    expect([firstRecord.id, second.id]).toEqual([0, 1]);
    expect(history.records.map((r) => r.key)).toEqual(['b', 'a']); // completion order
  });
});

describe('History', () => {
  it('continues ids after records it was given and notifies listeners of appends', () => {
    const base = { clientId: 'c', kind: 'put', startMs: 0, endMs: 1, outcome: 'ok' } as const;
    const history = new History([
      { ...base, id: 0 },
      { ...base, id: 7 },
    ]);
    const seen: number[] = [];
    const unsubscribe = history.onAppend((record) => seen.push(record.id));
    const id = history.nextId();
    history.append({ ...base, id });
    unsubscribe();
    history.append({ ...base, id: history.nextId() });

    expect(id).toBe(8);
    expect(seen).toEqual([8]);
    expect([...history].map((r) => r.id)).toEqual([0, 7, 8, 9]);
  });
});
