import { describe, expect, it } from 'vitest';
import { checkRecordedHistory, outcomeText } from '../../src/checks/linearizable-history.ts';
import { truthFromWatchers } from '../../src/checks/watch/observed.ts';
import type { KvEvent, WatchRequest, WatcherHistory } from '../../src/checks/watch/types.ts';
import type { OperationRecord } from '../../src/history/operation-record.ts';

const put = (revision: number, key: string, value: string): KvEvent => ({
  revision,
  key,
  type: 'put',
  value,
});
const PREFIX: WatchRequest = { range: { key: 'lab/', prefix: true }, startRevision: 2 };

function watcher(id: string, batches: readonly (readonly KvEvent[])[], request = PREFIX): WatcherHistory {
  return {
    id,
    request,
    responses: batches.map((events, i) => ({ type: 'events' as const, atMs: i, events })),
  };
}

describe("the truth from the watchers' events", () => {
  it('is their union; a revision none received, or where they disagree, is unknown', () => {
    const observed = truthFromWatchers(
      [
        watcher('w1', [[put(2, 'lab/1', 'a')], [put(3, 'lab/2', 'b')], [put(6, 'lab/1', 'e')]]),
        watcher('w2', [[put(2, 'lab/1', 'a')], [put(4, 'lab/3', 'c')], [put(6, 'lab/1', 'e')]]),
        // Disagrees at 4; a narrower watch and a filtered one are not used at all.
        watcher('w3', [[put(4, 'lab/3', 'X')]]),
        watcher('w4', [[put(5, 'lab/1', 'narrow')]], { ...PREFIX, range: { key: 'lab/1' } }),
        watcher('w5', [[put(5, 'lab/1', 'filtered')]], { ...PREFIX, filters: ['nodelete'] }),
      ],
      { key: 'lab/', prefix: true },
    );
    expect(observed.watchers).toBe(3);
    expect(observed.conflicts).toEqual([4]);
    expect(observed.truth.fromRevision).toBe(2);
    expect(observed.truth.toRevision).toBe(6);
    expect(observed.truth.unknownRevisions).toEqual([4, 5]);
    expect(observed.truth.events.map((e) => [e.revision, e.value])).toEqual([
      [2, 'a'],
      [3, 'b'],
      [6, 'e'],
    ]);
  });
});

let nextId = 0;
function record(fields: Partial<OperationRecord>): OperationRecord {
  return {
    id: nextId++,
    clientId: 'c0',
    role: { of: 'workload' },
    startMs: 0,
    endMs: 1,
    outcome: 'ok',
    ...fields,
  } as OperationRecord;
}

describe('the recorded-history check with the watch truth', () => {
  // lab/1=a at 2; lab/1=b timed out; lab/2=c at 3; a read of lab/1 returns a at 3.
  const records = [
    record({ kind: 'put', key: 'lab/1', value: 'a', startMs: 0, endMs: 1, revision: 2 }),
    record({ kind: 'put', key: 'lab/1', value: 'b', startMs: 2, endMs: 3, outcome: 'indeterminate' }),
    record({ kind: 'put', key: 'lab/2', value: 'c', startMs: 4, endMs: 5, revision: 3 }),
    record({
      kind: 'get',
      key: 'lab/1',
      consistency: 'linearizable',
      startMs: 6,
      endMs: 7,
      revision: 3,
      found: true,
      value: 'a',
      modRevision: 2,
    }),
  ];
  const watchers = [watcher('w0', [[put(2, 'lab/1', 'a')], [put(3, 'lab/2', 'c')]])];
  const initial = { revision: 1, keys: 0, prefix: 'lab/' };

  it('says how many indeterminate writes the watchers resolved', () => {
    const outcome = checkRecordedHistory(records, { initial, watch: { watchers, prefix: 'lab/' } });
    expect(outcome.status).toBe('ok');
    expect(outcome.watchTruth).toMatchObject({ used: true, indeterminate: 1, applied: 0, notApplied: 1 });
    expect(outcome.message).toContain('1 of 1 indeterminate writes resolved from the watch truth');
    expect(outcomeText(outcome)).toContain('1 never applied');
  });

  it('does not use watchers the watch check found broken, and says why', () => {
    const outcome = checkRecordedHistory(records, {
      initial,
      watch: { watchers, prefix: 'lab/', unusable: 'the watch check found reliable broken' },
    });
    expect(outcome.status).toBe('ok');
    expect(outcome.watchTruth).toMatchObject({ used: false, notApplied: 0, undecided: 1 });
    expect(outcome.message).toContain('watch truth not used: the watch check found reliable broken');
  });

  it('finds the violation the watchers reveal: a read of a write they never saw applied', () => {
    // The read returns b at 3; the watchers saw revision 3 change lab/2, and b nowhere.
    const reads = [
      records[0] as OperationRecord,
      records[1] as OperationRecord,
      record({ kind: 'get', key: 'lab/1', consistency: 'linearizable', startMs: 6, endMs: 7, revision: 3 }),
      record({ kind: 'put', key: 'lab/2', value: 'c', startMs: 8, endMs: 9, revision: 4 }),
    ].map((r) => (r.kind === 'get' ? { ...r, found: true, value: 'b', modRevision: 3 } : r));
    const seen = [watcher('w0', [[put(2, 'lab/1', 'a')], [put(3, 'lab/2', 'z')], [put(4, 'lab/2', 'c')]])];
    expect(checkRecordedHistory(reads, { initial }).status).toBe('ok');
    const outcome = checkRecordedHistory(reads, { initial, watch: { watchers: seen, prefix: 'lab/' } });
    expect(outcome.watchTruth).toMatchObject({ used: true, notApplied: 1 });
    expect(outcome.status).toBe('failed');
  });
});
