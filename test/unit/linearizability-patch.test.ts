import { describe, expect, it } from 'vitest';
import {
  checkLinearizability,
  generateHistoryWithChanges,
  patchWithTruth,
  type GeneratedChange,
  type HistoryOperation,
} from '../../src/checks/linearizability/index.ts';
import { truthFromEvents, type KvEvent, type WriteTruth } from '../../src/checks/watch/index.ts';

/** The generator's changes as a complete truth over every key from revision 2. */
function truthOf(changes: readonly GeneratedChange[], unknownRevisions: readonly number[] = []): WriteTruth {
  const events: KvEvent[] = changes
    .filter((c) => !unknownRevisions.includes(c.revision))
    .map((c) => ({
      revision: c.revision,
      key: c.key,
      type: c.type,
      ...(c.value === undefined ? {} : { value: c.value }),
    }));
  const last = changes[changes.length - 1]?.revision ?? 1;
  return truthFromEvents(events, { fromRevision: 2, toRevision: last, unknownRevisions });
}

const INITIAL = { initial: { revision: 1 } };

describe('resolving indeterminate writes with the watch truth', () => {
  it('pins each to the revision it applied at, leaves out only those that changed nothing, and keeps generated histories linearizable', () => {
    let applied = 0;
    let notApplied = 0;
    let narrowed = 0;
    for (let seed = 1; seed <= 12; seed += 1) {
      const { history, changes } = generateHistoryWithChanges({
        operations: 400,
        keys: 6,
        clients: 6,
        indeterminate: 0.25,
        seed,
      });
      const madeAt = new Map<number, number>();
      for (const c of changes) madeAt.set(c.by, c.revision);
      const patched = patchWithTruth(history, truthOf(changes), { initialRevision: 1 });
      applied += patched.applied;
      notApplied += patched.notApplied;
      narrowed += patched.narrowed;
      const kept = new Map(patched.history.map((op) => [op.id, op]));
      for (const op of history) {
        if (op.status === 'ok') {
          expect(kept.get(op.id)).toBe(op); // acknowledged operations untouched
          continue;
        }
        const p = kept.get(op.id);
        const truly = madeAt.get(op.id);
        if (p === undefined) {
          // Left out: it changed nothing, or only after every revision the history saw.
          const seen = Math.max(...history.map((o) => o.response?.revision ?? 0));
          expect(truly === undefined || truly > seen, `#${op.id} left out but made ${truly}`).toBe(true);
        } else if (p.appliedAt !== undefined) expect(p.appliedAt, `#${op.id}`).toBe(truly);
        else if (p.appliedAtOneOf !== undefined && truly !== undefined)
          expect(p.appliedAtOneOf, `#${op.id}`).toContain(truly);
      }
      const result = checkLinearizability(patched.history, { ...INITIAL, stepLimit: 2_000_000 });
      expect(result.status, `seed ${seed}`).toBe('ok');
    }
    expect(applied).toBeGreaterThan(50);
    expect(notApplied).toBeGreaterThan(50);
    expect(narrowed).toBeGreaterThan(0);
  });

  it('decides nothing where the truth does not know a revision, and nothing from a truth that stops early', () => {
    const { history, changes } = generateHistoryWithChanges({
      operations: 300,
      keys: 4,
      indeterminate: 0.3,
      seed: 3,
    });
    const full = patchWithTruth(history, truthOf(changes), { initialRevision: 1 });
    const unknownAll = changes.map((c) => c.revision);
    const blind = patchWithTruth(history, truthOf(changes, unknownAll), { initialRevision: 1 });
    expect(full.notApplied).toBeGreaterThan(0);
    expect(blind.applied + blind.notApplied + blind.narrowed).toBe(0);
    expect(blind.history).toEqual(history);
    // A truth that ends at revision 10 says nothing about what came after.
    const early = patchWithTruth(history, truthOf(changes.filter((c) => c.revision <= 10)), {
      initialRevision: 1,
    });
    expect(early.notApplied).toBe(0);
  });

  it('still finds a stale read and a lost acknowledged write in patched histories', () => {
    let found = 0;
    for (let seed = 1; seed <= 8; seed += 1) {
      const { history, changes } = generateHistoryWithChanges({
        operations: 300,
        keys: 5,
        indeterminate: 0.2,
        seed,
      });
      // A read after an acknowledged put of its key returns the value before that put.
      const reads = history.filter(
        (op) => op.status === 'ok' && op.request.type === 'get' && op.response?.kv !== null,
      );
      for (const read of reads.slice(20)) {
        const key = (read.request as { key: string }).key;
        const before = changes.filter(
          (c) => c.key === key && c.type === 'put' && c.revision < (read.response?.kv?.modRevision ?? 0),
        );
        const older = before[before.length - 1];
        if (older?.value === undefined) continue;
        const stale: HistoryOperation = {
          ...read,
          response: {
            ...read.response,
            kv: { value: older.value, modRevision: older.revision },
          },
        };
        const mutated = history.map((op) => (op === read ? stale : op));
        const patched = patchWithTruth(mutated, truthOf(changes), { initialRevision: 1 });
        const result = checkLinearizability(patched.history, { ...INITIAL, stepLimit: 2_000_000 });
        expect(result.status, `seed ${seed}, read #${read.id}`).toBe('failed');
        found += 1;
        break;
      }
    }
    expect(found).toBe(8);
  });

  // x=a acknowledged at 2; x=b indeterminate, at 3 in the truth; x=c acknowledged at 4.
  const base: HistoryOperation[] = [
    {
      id: 1,
      client: 'a',
      call: 0,
      return: 1,
      status: 'ok',
      request: { type: 'put', key: 'x', value: 'a' },
      response: { revision: 2 },
    },
    {
      id: 2,
      client: 'b',
      call: 2,
      return: 3,
      status: 'indeterminate',
      request: { type: 'put', key: 'x', value: 'b' },
    },
    {
      id: 3,
      client: 'a',
      call: 4,
      return: 5,
      status: 'ok',
      request: { type: 'put', key: 'x', value: 'c' },
      response: { revision: 4 },
    },
  ];
  const ev = (revision: number, type: 'put' | 'delete', value?: string): KvEvent => ({
    revision,
    key: 'x',
    type,
    ...(value === undefined ? {} : { value }),
  });
  const read = (
    id: number,
    value: string,
    mod: number,
    revision: number,
    call: number,
  ): HistoryOperation => ({
    id,
    client: 'r',
    call,
    return: call + 1,
    status: 'ok',
    request: { type: 'get', key: 'x' },
    response: { revision, kv: { value, modRevision: mod } },
  });

  it('a lost acknowledged write stays a violation when an indeterminate write fills its revision', () => {
    // The read after x=c returned sees b: c was lost. Unpatched, b can go nowhere that explains
    // it either; patched, b is pinned at 3 — still a violation.
    const history = [...base, read(4, 'b', 3, 4, 6)];
    const truth = truthFromEvents([ev(2, 'put', 'a'), ev(3, 'put', 'b'), ev(4, 'put', 'c')]);
    const patched = patchWithTruth(history, truth, { initialRevision: 1 });
    expect(patched.history.find((op) => op.id === 2)?.appliedAt).toBe(3);
    expect(checkLinearizability(history, INITIAL).status).toBe('failed');
    expect(checkLinearizability(patched.history, INITIAL).status).toBe('failed');
  });

  it('a read of a value the complete truth never shows is a violation once the write is left out', () => {
    // Without the truth, b may have applied at 3 and the read is fine; the watchers, who know
    // revision 3, saw no put of b: the read returned what etcd never applied.
    const history: HistoryOperation[] = [
      base[0] as HistoryOperation,
      base[1] as HistoryOperation,
      read(4, 'b', 3, 3, 6),
    ];
    const truth = truthFromEvents([ev(2, 'put', 'a')], { toRevision: 3 });
    const patched = patchWithTruth(history, truth, { initialRevision: 1 });
    expect(patched.notApplied).toBe(1);
    expect(checkLinearizability(history, INITIAL).status).toBe('ok');
    expect(checkLinearizability(patched.history, INITIAL).status).toBe('failed');
  });

  it('attributes a delete only when one operation can have made it, and narrows the rest', () => {
    const del = (id: number, call: number): HistoryOperation => ({
      id,
      client: `d${id}`,
      call,
      return: call + 1,
      status: 'indeterminate',
      request: { type: 'delete', key: 'x' },
    });
    // x=a at 2 (acknowledged), deleted at 3 by an indeterminate delete; x=c at 4; deleted at 5.
    const acked = base[0] as HistoryOperation;
    const c = base[2] as HistoryOperation;
    const truth = truthFromEvents([ev(2, 'put', 'a'), ev(3, 'delete'), ev(4, 'put', 'c'), ev(5, 'delete')]);
    // One delete called before 3, one called after c returned (revision 4): each has one place.
    const one = patchWithTruth([acked, del(10, 2), c, del(11, 6)], truth, { initialRevision: 1 });
    expect(one.history.map((op) => op.appliedAt)).toEqual([undefined, 3, undefined, 5]);
    // Two deletes called before 3: either made 3 (5 is past every revision the history saw).
    const two = patchWithTruth([acked, del(10, 2), del(12, 2.5), c], truth, { initialRevision: 1 });
    expect(two.applied).toBe(0);
    expect(two.narrowed).toBe(2);
    expect(two.history.find((op) => op.id === 10)?.appliedAtOneOf).toEqual([3]);
    expect(checkLinearizability(two.history, INITIAL).status).toBe('ok');
    // A delete whose window holds no delete nobody else made deleted nothing: left out.
    const none = patchWithTruth(
      [acked, { ...c, response: { revision: 3 } }, del(13, 6)],
      truthFromEvents([ev(2, 'put', 'a'), ev(3, 'put', 'c')]),
      { initialRevision: 1 },
    );
    expect(none.notApplied).toBe(1);
  });

  it('pins a compare-and-swap txn whose put shows, leaves out one whose put never does', () => {
    const cas = (id: number, value: string): HistoryOperation => ({
      id,
      client: `t${id}`,
      call: 2,
      return: 3,
      status: 'indeterminate',
      request: {
        type: 'txn',
        compare: [{ key: 'x', target: 'mod', op: '=', value: 2 }],
        success: [{ type: 'put', key: 'x', value }],
        failure: [{ type: 'get', key: 'x' }],
      },
    });
    const truth = truthFromEvents([ev(2, 'put', 'a'), ev(3, 'put', 't1'), ev(4, 'put', 'c')]);
    const history = [base[0] as HistoryOperation, cas(20, 't1'), cas(21, 't2'), base[2] as HistoryOperation];
    const patched = patchWithTruth(history, truth, { initialRevision: 1 });
    expect(patched.history.map((op) => [op.id, op.appliedAt])).toEqual([
      [1, undefined],
      [20, 3],
      [3, undefined],
    ]);
    expect(checkLinearizability(patched.history, INITIAL).status).toBe('ok');
  });
});
