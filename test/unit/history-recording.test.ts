import { GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';
import { describe, expect, it } from 'vitest';

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { History, loadHistory } from '../../src/history/history.ts';
import type { OperationRecord } from '../../src/history/operation-record.ts';
import { rangeFields, recordOperation, txnFields, type Clock } from '../../src/history/recording-client.ts';
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

describe('rangeFields and txnFields', () => {
  const header = { cluster_id: '1', member_id: '7', revision: '9', raft_term: '3' };
  const kv = (value: string) => ({
    key: Buffer.from('k'),
    value: Buffer.from(value),
    create_revision: '4',
    mod_revision: '8',
    version: '3',
    lease: '0',
  });

  it('keeps the value, mod and create revisions and version of a key read', () => {
    expect(rangeFields({ header, kvs: [kv('v')] })).toEqual({
      revision: 9,
      memberId: '7',
      raftTerm: 3,
      found: true,
      value: 'v',
      modRevision: 8,
      createRevision: 4,
      version: 3,
    });
    expect(rangeFields({ header, kvs: [] })).toEqual({
      revision: 9,
      memberId: '7',
      raftTerm: 3,
      found: false,
      modRevision: 0,
    });
  });

  it("keeps what a failed compare-and-set's failure branch read, its value apart from the value written", () => {
    const responses = [
      { response: 'response_range', response_range: { header, kvs: [kv('now')], more: false, count: '1' } },
    ];
    expect(
      txnFields({ header, succeeded: false, responses } as unknown as Parameters<typeof txnFields>[0]),
    ).toEqual({
      revision: 9,
      memberId: '7',
      raftTerm: 3,
      succeeded: false,
      found: true,
      foundValue: 'now',
      modRevision: 8,
      createRevision: 4,
      version: 3,
    });
    expect(txnFields({ header, succeeded: true, responses: [] })).toEqual({
      revision: 9,
      memberId: '7',
      raftTerm: 3,
      succeeded: true,
      modRevision: 9,
    });
  });

  it('reads old history lines without the new fields and new ones with them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-lab-history-'));
    const file = join(dir, 'history.jsonl');
    const old = {
      id: 0,
      clientId: 'c0',
      kind: 'get',
      startMs: 0,
      endMs: 1,
      outcome: 'ok',
      key: 'k',
      found: true,
      value: 'v',
      modRevision: 2,
      revision: 2,
    };
    const now = { ...old, id: 1, createRevision: 2, version: 1 };
    const txn = {
      ...old,
      id: 2,
      kind: 'txn',
      value: 'w',
      expectedRevision: 1,
      succeeded: false,
      foundValue: 'v',
    };
    await writeFile(file, [old, now, txn].map((r) => JSON.stringify(r)).join('\n'));
    const loaded = await loadHistory(file);
    expect(loaded.records.map((r) => [r.createRevision, r.version, r.foundValue])).toEqual([
      [undefined, undefined, undefined],
      [2, 1, undefined],
      [undefined, undefined, 'v'],
    ]);
  });
});
