import { describe, expect, it } from 'vitest';
import {
  checkLinearizability,
  fromOperationRecords,
  resultText,
  type HistoryOperation,
  type KeyValue,
  type Request,
} from '../../src/checks/linearizability/index.ts';
import type { OperationRecord } from '../../src/history/operation-record.ts';

// Hand-made histories. Times are ms on one clock; an operation is [call, return].
function builder() {
  let id = 0;
  const ok = (
    client: string,
    call: number,
    ret: number,
    request: Request,
    response: HistoryOperation['response'],
  ) =>
    ({
      id: id++,
      client,
      call,
      return: ret,
      status: 'ok',
      request,
      ...(response ? { response } : {}),
    }) as HistoryOperation;
  return {
    put: (c: string, call: number, ret: number, key: string, value: string, revision?: number) =>
      ok(c, call, ret, { type: 'put', key, value }, revision === undefined ? {} : { revision }),
    get: (c: string, call: number, ret: number, key: string, kv: KeyValue | null, revision?: number) =>
      ok(c, call, ret, { type: 'get', key }, { kv, ...(revision === undefined ? {} : { revision }) }),
    del: (c: string, call: number, ret: number, key: string, deleted: number, revision?: number) =>
      ok(c, call, ret, { type: 'delete', key }, { deleted, ...(revision === undefined ? {} : { revision }) }),
    cas: (
      c: string,
      call: number,
      ret: number,
      key: string,
      modRevision: number,
      value: string,
      succeeded: boolean,
      revision: number,
    ) =>
      ok(
        c,
        call,
        ret,
        {
          type: 'txn',
          compare: [{ key, target: 'mod', op: '=', value: modRevision }],
          success: [{ type: 'put', key, value }],
          failure: [{ type: 'get', key }],
        },
        { succeeded, revision },
      ),
    casValue: (
      c: string,
      call: number,
      ret: number,
      key: string,
      expected: string,
      value: string,
      succeeded: boolean,
    ) =>
      ok(
        c,
        call,
        ret,
        {
          type: 'txn',
          compare: [{ key, target: 'value', op: '=', value: expected }],
          success: [{ type: 'put', key, value }],
          failure: [{ type: 'get', key }],
        },
        { succeeded },
      ),
    maybePut: (c: string, call: number, key: string, value: string): HistoryOperation => ({
      id: id++,
      client: c,
      call,
      return: call + 1,
      status: 'indeterminate',
      request: { type: 'put', key, value },
    }),
  };
}

const start = { initial: { revision: 1 } };

describe('linearizability: valid histories pass', () => {
  it('concurrent puts seen in either order by overlapping reads', () => {
    const b = builder();
    const h = [
      b.put('a', 0, 10, 'x', '1', 2),
      b.put('b', 2, 12, 'x', '2', 3),
      b.get('c', 5, 15, 'x', { value: '1', modRevision: 2 }, 2),
      b.get('d', 11, 20, 'x', { value: '2', modRevision: 3, version: 2, createRevision: 2 }, 3),
    ];
    expect(checkLinearizability(h, start).status).toBe('ok');
    expect(checkLinearizability(h).status).toBe('ok');
  });

  it('an indeterminate write that did apply, seen later (even after it "returned")', () => {
    const b = builder();
    const h = [
      b.maybePut('a', 0, 'x', 'lost?'),
      b.get('b', 5, 6, 'x', null, 1),
      b.get('b', 50, 60, 'x', { value: 'lost?', modRevision: 2 }, 2),
    ];
    expect(checkLinearizability(h, start).status).toBe('ok');
  });

  it('an indeterminate write that never applied', () => {
    const b = builder();
    const h = [
      b.maybePut('a', 0, 'x', 'never'),
      b.put('b', 5, 6, 'x', 'y', 2),
      b.get('c', 50, 60, 'x', { value: 'y' }, 2),
    ];
    expect(checkLinearizability(h, start).status).toBe('ok');
  });

  it('a CAS that lost its race reads the winner', () => {
    const b = builder();
    const h = [
      b.put('a', 0, 1, 'x', 'v0', 2),
      b.cas('a', 2, 10, 'x', 2, 'va', true, 3),
      b.cas('b', 3, 11, 'x', 2, 'vb', false, 3),
      b.del('c', 20, 21, 'x', 1, 4),
      b.del('c', 22, 23, 'x', 0, 4),
    ];
    expect(checkLinearizability(h, start).status).toBe('ok');
  });
});

describe('linearizability: anomalies are found', () => {
  it('stale read', () => {
    const b = builder();
    const h = [b.put('a', 0, 10, 'x', '1', 2), b.get('b', 20, 30, 'x', null, 1)];
    const r = checkLinearizability(h, start);
    expect(r.status).toBe('failed');
    // The put cannot be placed before the read that returned an older revision.
    expect(r.violation?.stuck.id).toBe(0);
    expect(r.violation?.blockers.map((op) => op.id)).toEqual([1]);
    expect(resultText(r)).toContain('past 1, where #1 still to place needs it');
    // Values alone tell it too.
    expect(
      checkLinearizability([h[0]!, b.get('b', 20, 30, 'x', null)], { checkRevisions: false }).status,
    ).toBe('failed');
  });

  it('lost write', () => {
    const b = builder();
    const h = [
      b.put('a', 0, 10, 'x', 'a', 2),
      b.put('b', 20, 30, 'x', 'b', 3),
      b.get('c', 40, 50, 'x', { value: 'a', modRevision: 2 }, 3),
    ];
    const r = checkLinearizability(h, start);
    expect(r.status).toBe('failed');
    expect(r.violation?.stuck.id).toBe(2);
    expect(r.violation?.prefixLength).toBe(2);
    expect(resultText(r)).toMatch(/not linearizable: #2 c/);
    expect(checkLinearizability(h, { checkRevisions: false }).status).toBe('failed');
  });

  it('lost update in a CAS txn: both compares on the same mod revision succeed', () => {
    const b = builder();
    const h = [
      b.put('a', 0, 1, 'x', 'v0', 2),
      b.cas('a', 2, 10, 'x', 2, 'va', true, 3),
      b.cas('b', 3, 11, 'x', 2, 'vb', true, 4),
    ];
    expect(checkLinearizability(h, start).status).toBe('failed');
    const byValue = [
      b.put('a', 0, 1, 'y', 'v0'),
      b.casValue('a', 2, 10, 'y', 'v0', 'va', true),
      b.casValue('b', 3, 11, 'y', 'v0', 'vb', true),
    ];
    expect(checkLinearizability(byValue, { checkRevisions: false }).status).toBe('failed');
    expect(checkLinearizability(byValue, { checkRevisions: false, partitionByKey: true }).status).toBe(
      'failed',
    );
  });

  it('an indeterminate write read as applied, then read as never having happened', () => {
    const b = builder();
    const h = [
      b.maybePut('a', 0, 'x', 'ghost'),
      b.get('b', 10, 20, 'x', { value: 'ghost' }),
      b.get('c', 30, 40, 'x', null),
    ];
    expect(checkLinearizability(h, start).status).toBe('failed');
    expect(checkLinearizability(h, { checkRevisions: false }).status).toBe('failed');
  });

  it('revision going backwards', () => {
    const b = builder();
    const h = [b.put('a', 0, 10, 'x', '1', 5), b.get('b', 20, 30, 'y', null, 4)];
    const r = checkLinearizability(h);
    expect(r.status).toBe('failed');
    expect(r.violation?.candidates.length ?? 0).toBeGreaterThanOrEqual(0);
  });

  it('a gap in revisions no write can fill', () => {
    const b = builder();
    const h = [b.put('a', 0, 10, 'x', '1', 2), b.put('a', 20, 30, 'x', '2', 4)];
    expect(checkLinearizability(h, start).status).toBe('failed');
    // ... which an indeterminate write can.
    expect(checkLinearizability([...h, b.maybePut('c', 5, 'z', 'q')], start).status).toBe('ok');
  });

  it('the report lists the refused candidates and draws the window', () => {
    const b = builder();
    const h = [
      b.put('a', 0, 10, 'x', 'a', 2),
      b.put('b', 5, 30, 'x', 'b', 3),
      b.get('c', 40, 50, 'x', { value: 'a', modRevision: 2 }, 3),
    ];
    const r = checkLinearizability(h, start);
    expect(r.status).toBe('failed');
    const text = resultText(r);
    expect(text).toContain('could have come next');
    expect(text).toMatch(/^ {4}a +\|#0/m);
  });
});

describe('linearizability: limits', () => {
  it('a step or time limit gives unknown, never ok', () => {
    const b = builder();
    const h = [b.put('a', 0, 10, 'x', '1', 2), b.get('b', 20, 30, 'x', { value: '1' }, 2)];
    expect(checkLinearizability(h, { ...start, stepLimit: 1 }).status).toBe('unknown');
    expect(checkLinearizability(h, { ...start, timeLimitMs: -1 }).status).toBe('unknown');
  });

  it('partitioning by key is refused while revisions are checked', () => {
    const b = builder();
    const r = checkLinearizability([b.put('a', 0, 1, 'x', '1', 2)], { partitionByKey: true });
    expect(r.status).toBe('unknown');
    expect(r.reason).toMatch(/couples all keys/);
  });
});

describe('fromOperationRecords', () => {
  it('keeps linearizable gets, puts, deletes and CAS txns; drops failed, serializable and lease operations', () => {
    const base = { clientId: 'c0', latencyMs: 1 } as const;
    const records = [
      { ...base, id: 1, kind: 'put', startMs: 0, endMs: 1, outcome: 'ok', key: 'x', value: 'a', revision: 2 },
      {
        ...base,
        id: 2,
        kind: 'get',
        startMs: 2,
        endMs: 3,
        outcome: 'ok',
        key: 'x',
        consistency: 'linearizable',
        value: 'a',
        found: true,
        modRevision: 2,
        revision: 2,
      },
      {
        ...base,
        id: 3,
        kind: 'get',
        startMs: 2,
        endMs: 3,
        outcome: 'ok',
        key: 'x',
        consistency: 'serializable',
        found: false,
        revision: 1,
      },
      {
        ...base,
        id: 4,
        kind: 'txn',
        startMs: 4,
        endMs: 5,
        outcome: 'ok',
        key: 'x',
        value: 'b',
        expectedRevision: 1,
        succeeded: false,
        found: true,
        modRevision: 2,
        revision: 2,
      },
      { ...base, id: 5, kind: 'put', startMs: 6, endMs: 7, outcome: 'fail', key: 'x', value: 'c' },
      { ...base, id: 6, kind: 'put', startMs: 6, endMs: 7, outcome: 'indeterminate', key: 'x', value: 'd' },
      { ...base, id: 7, kind: 'lease-grant', startMs: 6, endMs: 7, outcome: 'ok', ttlSeconds: 5 },
      {
        ...base,
        id: 8,
        kind: 'delete',
        startMs: 8,
        endMs: 9,
        outcome: 'ok',
        key: 'x',
        deleted: 1,
        revision: 4,
      },
    ] as unknown as OperationRecord[];
    const { history, dropped } = fromOperationRecords(records);
    expect(history.map((o) => o.id)).toEqual([1, 2, 4, 6, 8]);
    expect(dropped).toMatchObject({ failed: 1, serializableReads: 1, leaseOperations: 1 });
    // The indeterminate put must have applied (revision 3) for the delete to be at 4.
    expect(checkLinearizability(history, { initial: { revision: 1 } }).status).toBe('ok');
    const stale = records.map((r) => (r.id === 4 ? { ...r, modRevision: 1 } : r));
    expect(
      checkLinearizability(fromOperationRecords(stale).history, { initial: { revision: 1 } }).status,
    ).toBe('failed');
  });

  it("checks a read's create revision and version, and the value a failed compare-and-set read", () => {
    const base = { clientId: 'c0', latencyMs: 1, outcome: 'ok', key: 'x' } as const;
    const put = { ...base, id: 1, kind: 'put', startMs: 0, endMs: 1, value: 'a', revision: 2 };
    const get = {
      ...base,
      id: 2,
      kind: 'get',
      startMs: 2,
      endMs: 3,
      consistency: 'linearizable',
      found: true,
      value: 'a',
      modRevision: 2,
      createRevision: 2,
      version: 1,
      revision: 2,
    };
    const cas = {
      ...base,
      id: 3,
      kind: 'txn',
      startMs: 4,
      endMs: 5,
      value: 'b',
      expectedRevision: 1,
      succeeded: false,
      found: true,
      foundValue: 'a',
      modRevision: 2,
      createRevision: 2,
      version: 1,
      revision: 2,
    };
    const check = (records: unknown[]) =>
      checkLinearizability(fromOperationRecords(records as OperationRecord[]).history, {
        initial: { revision: 1 },
      }).status;
    expect(check([put, get, cas])).toBe('ok');
    const { history } = fromOperationRecords([put, get, cas] as unknown as OperationRecord[]);
    expect(history[1]?.response?.kv).toEqual({ value: 'a', modRevision: 2, createRevision: 2, version: 1 });
    expect(history[2]?.response?.results).toEqual([
      { kv: { value: 'a', modRevision: 2, createRevision: 2, version: 1 } },
    ]);
    expect(check([put, { ...get, version: 2 }, cas])).toBe('failed');
    expect(check([put, { ...get, createRevision: 1 }, cas])).toBe('failed');
    expect(check([put, get, { ...cas, foundValue: 'z' }])).toBe('failed');
  });
});
