import { describe, expect, it } from 'vitest';
import type { HistoryOperation } from '../../src/checks/linearizability/index.ts';
import type { OperationRecord } from '../../src/history/operation-record.ts';
import {
  blameText,
  checkWatches,
  covers,
  generateWatchHistory,
  mutateWatchHistory,
  prefixEnd,
  resultText,
  truthFromEvents,
  truthFromHistory,
  truthFromRecords,
  watchGuaranteesCheck,
  GUARANTEES,
  type KvEvent,
  type WatchCheckResult,
  type WatchRequest,
  type WatchResponse,
  type WatcherHistory,
  type WatchMutation,
} from '../../src/checks/watch/index.ts';
import { watchTruthProblem } from '../../src/checks/watch-history.ts';

// Hand-made key space: the store starts empty at revision 1.
//   2 put a=1 · 3 put b=1 · 4 txn {put a=2; put b=2} · 5 delete a · 6 put c=1
const put = (revision: number, key: string, value: string): KvEvent => ({
  revision,
  key,
  type: 'put',
  value,
});
const del = (revision: number, key: string): KvEvent => ({ revision, key, type: 'delete' });
const E2 = put(2, 'a', '1');
const E3 = put(3, 'b', '1');
const E4a = put(4, 'a', '2');
const E4b = put(4, 'b', '2');
const E5 = del(5, 'a');
const E6 = put(6, 'c', '1');
const TRUTH = truthFromEvents([E2, E3, E4a, E4b, E5, E6], { fromRevision: 2, toRevision: 6 });

const all: WatchRequest = { range: { key: '', prefix: true }, startRevision: 2 };
const events = (atMs: number, ...evs: KvEvent[]): WatchResponse => ({ type: 'events', atMs, events: evs });
const progress = (atMs: number, revision: number): WatchResponse => ({ type: 'progress', atMs, revision });
const reconnect = (atMs: number, resumeRevision?: number): WatchResponse =>
  resumeRevision === undefined ? { type: 'reconnect', atMs } : { type: 'reconnect', atMs, resumeRevision };
const watcher = (responses: WatchResponse[], request: WatchRequest = all, id = 'w1'): WatcherHistory => ({
  id,
  request,
  responses,
});
const check = (...ws: WatcherHistory[]): WatchCheckResult => checkWatches(TRUTH, ws);
const named = (r: WatchCheckResult) =>
  r.violations.map((v) => `${v.guarantee}/${v.kind}@${v.revisions.join(',')}`).sort();

describe('watch checker: hand-made streams', () => {
  it('a stream with every change, whole revisions, progress after them, passes all six', () => {
    const r = check(
      watcher([events(10, E2, E3), events(20, E4a, E4b), progress(25, 4), events(30, E5), events(40, E6)]),
    );
    expect(r.status).toBe('ok');
    for (const g of GUARANTEES) expect(r.perGuarantee[g].status).toBe('ok');
    expect(r.counts.eventsDelivered).toBe(6);
    expect(r.counts.eventsExpected).toBe(6);
  });

  it('duplicate on one stream: unique at that revision, by the server', () => {
    const r = check(watcher([events(10, E2, E3), events(20, E3, E4a, E4b)]));
    expect(named(r)).toEqual(['unique/duplicate@3']);
    expect(r.perGuarantee.unique.status).toBe('violation');
    expect(r.perGuarantee.ordered.status).toBe('ok');
    expect(r.violations[0]?.blame.by).toBe('server');
    expect(r.violations[0]?.observed).toEqual([E3]);
  });

  it('missing change: reliable at that revision, with what was expected', () => {
    const r = check(watcher([events(10, E2), events(20, E4a, E4b), events(30, E5, E6)]));
    expect(named(r)).toEqual(['reliable/missing@3']);
    const v = r.violations[0];
    expect(v?.expected).toEqual([E3]);
    expect(v?.blame.by).toBe('server');
    expect(v?.message).toContain('delivered up to 2, then from 4');
  });

  it('out of order: ordered at the revision that came after a later one', () => {
    const r = check(watcher([events(10, E2), events(20, E4a, E4b), events(30, E3), events(40, E5, E6)]));
    expect(named(r)).toEqual(['ordered/revision-went-back@3']);
    expect(r.violations[0]?.observed).toEqual([E4b, E3]);
  });

  it("a txn's changes in the wrong order within its revision: ordered (txn order)", () => {
    const r = check(watcher([events(10, E2, E3), events(20, E4b, E4a), events(30, E5, E6)]));
    expect(named(r)).toEqual(['ordered/txn-order@4']);
  });

  it("a txn's events split across responses: atomic at its revision", () => {
    const r = check(watcher([events(10, E2, E3, E4a), events(20, E4b, E5), events(30, E6)]));
    expect(named(r)).toEqual(['atomic/split-revision@4']);
    expect(r.violations[0]?.expected).toEqual([E4a, E4b]);
  });

  it('a progress notification before an event it covers: bookmarkable at that revision', () => {
    const r = check(watcher([events(10, E2), progress(15, 3), events(20, E3, E4a, E4b), events(30, E5, E6)]));
    expect(named(r)).toEqual(['bookmarkable/event-after-progress@3']);
    expect(r.perGuarantee.reliable.status).toBe('ok');
  });

  it('a progress notification past a change never delivered: bookmarkable and reliable', () => {
    const r = check(watcher([events(10, E2), progress(15, 3), events(20, E4a, E4b), events(30, E5, E6)]));
    expect(named(r)).toEqual(['bookmarkable/missing-at-progress@3', 'reliable/missing@3']);
  });

  it('a watch from revision 3 whose first event is at 4: resumable, expected and observed named', () => {
    const from3 = { ...all, startRevision: 3 };
    const r = check(watcher([events(10, E4a, E4b), events(20, E5, E6)], from3));
    expect(named(r)).toEqual(['reliable/missing@3', 'resumable/started-late@3,4']);
    const v = r.violations.find((x) => x.guarantee === 'resumable');
    expect(v?.expected).toEqual([E3]);
    expect(v?.observed).toEqual([E4a]);
  });

  it('a resumed watch starting after its revision: resumable, by the server (it was asked right)', () => {
    const r = check(watcher([events(10, E2, E3), reconnect(15, 4), events(20, E5), events(30, E6)]));
    expect(named(r)).toEqual(['reliable/missing@4', 'resumable/started-late@4,5']);
    for (const v of r.violations) expect(v.blame.by).toBe('server');
    const missing = r.violations.find((v) => v.kind === 'missing');
    expect(missing?.revisions).toEqual([4]);
    expect(missing?.expected).toEqual([E4a, E4b]);
  });

  it('a watch event before the revision a stream asked for: resumable (started early)', () => {
    const r = check(watcher([events(10, E2, E3), reconnect(15, 4), events(20, E3, E4a, E4b, E5, E6)]));
    expect(named(r)).toEqual(['resumable/started-early@3', 'unique/duplicate@3']);
    // The library asked from 4: the re-sent 3 is the server's doing.
    for (const v of r.violations) expect(v.blame.by).toBe('server');
  });

  it('a reconnect that re-delivers events: unique, by the client library (resumed from revision 3)', () => {
    const r = check(
      watcher([events(10, E2, E3), reconnect(15, 3), events(20, E3, E4a, E4b), events(30, E5, E6)]),
    );
    expect(named(r)).toEqual(['unique/duplicate@3']);
    const v = r.violations[0];
    expect(v?.blame).toMatchObject({
      by: 'client-library',
      confirmed: true,
      reconnect: { atMs: 15, resumedFrom: 3, lastDeliveredRevision: 3 },
    });
    expect(blameText(v?.blame ?? { by: 'server', confirmed: true, why: '' })).toBe(
      'client library (reconnect resumed from revision 3)',
    );
    // The re-delivery is not also "out of order", and the stream resumed where it was asked.
    expect(r.perGuarantee.ordered.status).toBe('ok');
    expect(r.perGuarantee.resumable.status).toBe('ok');
  });

  it('a reconnect that resumed too late: reliable, by the client library', () => {
    const r = check(watcher([events(10, E2, E3), reconnect(15, 5), events(20, E5), events(30, E6)]));
    expect(named(r)).toEqual(['reliable/missing@4']);
    expect(r.violations[0]?.blame).toMatchObject({ by: 'client-library', reconnect: { resumedFrom: 5 } });
    expect(resultText(r)).toContain('client library (reconnect resumed from revision 5)');
  });

  it('two reconnects in one seam: the last decides (etcd3 took a created header as seen, found on etcd 3.5.16)', () => {
    // As in mixed-faults on 3.5.16: the stream asked from 4 was created (header revision 5) and
    // cut before etcd sent 4 and 5 (its member killed again); etcd3 then resumed from 6, the
    // created header's revision + 1, and never asked for 4 and 5 again.
    const created = (atMs: number, revision: number): WatchResponse => ({ type: 'created', atMs, revision });
    const r = check(
      watcher([
        created(5, 1),
        events(10, E2, E3),
        reconnect(15, 4),
        created(16, 5),
        reconnect(40, 6),
        created(41, 6),
        events(50, E6),
      ]),
    );
    expect(named(r)).toEqual(['reliable/missing@4,5']);
    const blame = r.violations[0]?.blame;
    expect(blame).toMatchObject({ by: 'client-library', confirmed: true, reconnect: { resumedFrom: 6 } });
    expect(blame?.why).toContain('1 earlier stream in the seam asked from revision 4 but was cut');
    expect(blame?.why).toContain('after 25 ms');
  });

  it('two reconnects in one seam, the last asked early enough: the server', () => {
    const r = check(watcher([events(10, E2, E3), reconnect(15, 6), reconnect(40, 4), events(50, E6)]));
    // Asked from 4, the stream began at 6: resumable too.
    expect(named(r)).toEqual(['reliable/missing@4,5', 'resumable/started-late@4,6']);
    const missing = r.violations.find((v) => v.kind === 'missing');
    expect(missing?.blame).toMatchObject({ by: 'server', reconnect: { resumedFrom: 4 } });
  });

  it("lets the watchers' events resolve a history when only the library skipped changes, not when the server lost them", () => {
    const created = (atMs: number, revision: number): WatchResponse => ({ type: 'created', atMs, revision });
    const skipped = check(
      watcher([events(10, E2, E3), reconnect(15, 4), created(16, 5), reconnect(40, 6), events(50, E6)]),
    );
    expect(skipped.perGuarantee.reliable.status).toBe('violation');
    expect(watchTruthProblem({ result: skipped })).toBeUndefined();
    const lost = check(watcher([events(10, E2, E3), reconnect(15, 4), events(20, E5), events(30, E6)]));
    expect(watchTruthProblem({ result: lost })).toContain('reliable broken by the server');
    const split = check(watcher([events(10, E2, E3), events(20, E4a), events(21, E4b), events(30, E5, E6)]));
    expect(split.perGuarantee.atomic.status).toBe('violation');
    expect(watchTruthProblem({ result: split })).toContain('atomic broken');
    expect(
      watchTruthProblem({ result: check(watcher([events(10, E2, E3, E4a, E4b, E5, E6)])) }),
    ).toBeUndefined();
  });

  it('a reconnect without a resume revision: anomaly at its seam is the library, unconfirmed; resumable unknown', () => {
    const r = check(
      watcher([events(10, E2, E3), reconnect(15), events(20, E3, E4a, E4b), events(30, E5, E6)]),
    );
    expect(r.status).toBe('violation');
    expect(named(r)).toEqual(['unique/duplicate@3']);
    expect(r.violations[0]?.blame).toMatchObject({ by: 'client-library', confirmed: false });
    expect(r.perGuarantee.resumable.status).toBe('unknown');
  });

  it('a change missing before a reconnect that a progress notification had covered: the server', () => {
    // Told everything up to 4 was delivered (it was not), the library rightly resumed from 5.
    const r = check(watcher([events(10, E2, E3), progress(12, 4), reconnect(15, 5), events(20, E5, E6)]));
    expect(named(r)).toEqual(['bookmarkable/missing-at-progress@4', 'reliable/missing@4']);
    for (const v of r.violations) expect(v.blame.by).toBe('server');
  });

  it('an event etcd never applied, and one with another value: reliable (unexpected, differs)', () => {
    const r = check(
      watcher([events(10, E2, put(3, 'z', '9'), E3), events(20, E4a, put(4, 'b', 'x')), events(30, E5, E6)]),
    );
    expect(named(r)).toEqual(['reliable/differs@4', 'reliable/unexpected@3']);
  });

  it('prev kv is compared when the watch asked for it', () => {
    const truth = truthFromEvents(
      [
        { ...E2, prevKv: null },
        { ...put(3, 'a', '2'), prevKv: { key: 'a', value: '1', modRevision: 2 } },
      ],
      { fromRevision: 2, toRevision: 3 },
    );
    const wrong = { ...put(3, 'a', '2'), prevKv: { key: 'a', value: 'other', modRevision: 2 } };
    const req = { ...all, prevKv: true };
    const r = checkWatches(truth, [watcher([events(10, { ...E2, prevKv: null }, wrong)], req)]);
    expect(named(r)).toEqual(['reliable/differs@3']);
    // Without prev_kv asked for, the same stream's prev kv is not judged.
    expect(checkWatches(truth, [watcher([events(10, E2, wrong)])]).status).toBe('ok');
  });

  it('filters: a NOPUT watch sees deletes only; a put it receives is unexpected', () => {
    const noput: WatchRequest = { ...all, filters: ['noput'] };
    expect(check(watcher([events(10, E5), progress(20, 6)], noput)).status).toBe('ok');
    expect(named(check(watcher([events(10, E3, E5)], noput)))).toEqual(['reliable/unexpected@3']);
  });

  it('a single-key watch and a prefix watch see only their keys', () => {
    const onlyB: WatchRequest = { range: { key: 'b' }, startRevision: 2 };
    expect(check(watcher([events(10, E3), events(20, E4b), progress(30, 6)], onlyB)).status).toBe('ok');
    expect(named(check(watcher([events(10, E3, E4a, E4b)], onlyB)))).toEqual(['reliable/unexpected@4']);
  });

  it("a watch from 'now' starts after its created header; without the header, resumable is unknown", () => {
    const now: WatchRequest = { ...all, startRevision: 'now' };
    const created: WatchResponse = { type: 'created', atMs: 1, revision: 3 };
    expect(check(watcher([created, events(10, E4a, E4b), events(20, E5, E6)], now)).status).toBe('ok');
    const late = check(watcher([created, events(20, E5, E6)], now));
    expect(named(late)).toEqual(['reliable/missing@4', 'resumable/started-late@4,5']);
    const noHeader = check(watcher([events(10, E4a, E4b), events(20, E5, E6)], now));
    expect(noHeader.status).toBe('unknown');
    expect(noHeader.perGuarantee.resumable.status).toBe('unknown');
    expect(noHeader.perGuarantee.reliable.status).toBe('ok');
  });

  it('a compaction excuses the changes below its revision, not those above', () => {
    const from2 = all;
    const compacted: WatchResponse = { type: 'compacted', atMs: 5, compactRevision: 4 };
    const ok = check(watcher([compacted, reconnect(6, 4), events(10, E4a, E4b, E5, E6)], from2));
    expect(ok.status).toBe('ok');
    expect(ok.counts.excusedByCompaction).toBe(2);
    const gap = check(watcher([compacted, reconnect(6, 4), events(10, E5, E6)], from2));
    expect(named(gap)).toEqual(['reliable/missing@4', 'resumable/started-late@4,5']);
  });

  it('unknown, not ok, where the truth does not know a revision the watcher spans', () => {
    const partial = truthFromEvents([E2, E3, E5, E6], {
      fromRevision: 2,
      toRevision: 6,
      unknownRevisions: [4],
    });
    const stream = watcher([events(10, E2, E3), events(20, E4a, E4b), events(30, E5, E6)]);
    const r = checkWatches(partial, [stream]);
    expect(r.status).toBe('unknown');
    expect(r.perGuarantee.reliable.status).toBe('unknown');
    expect(r.perGuarantee.reliable.reasons.join()).toContain('(4)');
    // Truth-free guarantees are still judged.
    expect(r.perGuarantee.ordered.status).toBe('ok');
    // A change missing at a known revision is a violation all the same.
    const missing = checkWatches(partial, [
      watcher([events(10, E2), events(20, E4a, E4b), events(30, E5, E6)]),
    ]);
    expect(missing.status).toBe('violation');
    expect(named(missing)).toEqual(['reliable/missing@3']);
    // A watcher past the truth's last revision.
    const short = truthFromEvents([E2, E3], { fromRevision: 2, toRevision: 3 });
    expect(checkWatches(short, [stream]).perGuarantee.reliable.status).toBe('unknown');
  });

  it('unknown when the truth does not cover the watched keys, or nobody received anything', () => {
    const onlyA = truthFromEvents([E2, E4a, E5], { fromRevision: 2, toRevision: 6, keySpace: { key: 'a' } });
    const r = checkWatches(onlyA, [watcher([events(10, E2, E3)])]);
    expect(r.status).toBe('unknown');
    expect(r.perGuarantee.reliable.reasons.join()).toContain('does not cover its keys');
    expect(checkWatches(TRUTH, []).status).toBe('unknown');
    expect(check(watcher([{ type: 'created', atMs: 0, revision: 1 }])).status).toBe('unknown');
  });

  it('input it cannot take is unknown with the problem, not an exception', () => {
    const unordered = truthFromEvents([E3, E2], { fromRevision: 2, toRevision: 3 });
    const r = checkWatches(unordered, [watcher([events(10, E2)])]);
    expect(r.status).toBe('unknown');
    expect(r.problem).toContain('revision order');
    expect(check(watcher([events(1, E2)]), watcher([events(1, E2)])).problem).toContain('two watchers');
  });

  it('as a Check: held, deviated with details, inconclusive with why', () => {
    const good = watchGuaranteesCheck(check(watcher([events(10, E2, E3, E4a, E4b, E5, E6)])));
    expect(good.verdict).toBe('held');
    const bad = watchGuaranteesCheck(check(watcher([events(10, E2, E3), events(20, E3)])));
    expect(bad.verdict).toBe('deviated');
    expect(bad.observed).toContain('unique');
    expect(bad.details).toContain('unique: watcher w1 received an event again');
    const unknown = watchGuaranteesCheck(checkWatches(TRUTH, []));
    expect(unknown.verdict).toBe('inconclusive');
    expect(unknown.why).toContain('no watchers');
  });
});

describe('key ranges', () => {
  it('prefix ends and containment as etcd ranges keys', () => {
    expect(prefixEnd('a/')).toBe('a0');
    expect(prefixEnd('')).toBeNull();
    expect(covers({ key: '', prefix: true }, { key: 'a/', prefix: true })).toBe(true);
    expect(covers({ key: 'a/', prefix: true }, { key: 'a/1' })).toBe(true);
    expect(covers({ key: 'a/', prefix: true }, { key: 'a' })).toBe(false);
    expect(covers({ key: 'a/1' }, { key: 'a/', prefix: true })).toBe(false);
    expect(covers({ key: 'a', rangeEnd: '\0' }, { key: 'b', prefix: true })).toBe(true);
    expect(covers({ key: 'a', rangeEnd: 'b' }, { key: 'b' })).toBe(false);
  });
});

describe('the truth from a history of writes', () => {
  let id = 0;
  const op = (o: Omit<HistoryOperation, 'id' | 'client' | 'call' | 'return'>): HistoryOperation => ({
    id: id++,
    client: 'c',
    call: id * 10,
    return: id * 10 + 5,
    ...o,
  });

  it('acknowledged writes own their header revisions; replay gives versions and prev kv', () => {
    const h = [
      op({ status: 'ok', request: { type: 'put', key: 'k', value: 'v1' }, response: { revision: 2 } }),
      op({
        status: 'ok',
        request: {
          type: 'txn',
          compare: [{ key: 'k', target: 'mod', op: '=', value: 2 }],
          success: [
            { type: 'put', key: 'k', value: 'v2' },
            { type: 'put', key: 'j', value: 'w' },
          ],
          failure: [{ type: 'get', key: 'k' }],
        },
        response: { revision: 3, succeeded: true },
      }),
      op({ status: 'ok', request: { type: 'delete', key: 'k' }, response: { revision: 4, deleted: 1 } }),
      op({ status: 'ok', request: { type: 'delete', key: 'k' }, response: { revision: 4, deleted: 0 } }),
      op({ status: 'ok', request: { type: 'get', key: 'j' }, response: { revision: 4, kv: null } }),
    ];
    const { truth, unresolved, conflicts } = truthFromHistory(h, { initial: { revision: 1 } });
    expect(unresolved).toEqual([]);
    expect(conflicts).toEqual([]);
    expect(truth).toMatchObject({ fromRevision: 2, toRevision: 4, unknownRevisions: [] });
    expect(truth.events).toEqual([
      { revision: 2, key: 'k', type: 'put', value: 'v1', createRevision: 2, version: 1, prevKv: null },
      {
        revision: 3,
        key: 'k',
        type: 'put',
        value: 'v2',
        createRevision: 2,
        version: 2,
        prevKv: { key: 'k', value: 'v1', createRevision: 2, modRevision: 2, version: 1 },
      },
      { revision: 3, key: 'j', type: 'put', value: 'w', createRevision: 3, version: 1, prevKv: null },
      {
        revision: 4,
        key: 'k',
        type: 'delete',
        prevKv: { key: 'k', value: 'v2', createRevision: 2, modRevision: 3, version: 2 },
      },
    ]);
  });

  it('an indeterminate write read back is pinned; one never seen leaves its revision unknown', () => {
    const h = [
      op({ status: 'ok', request: { type: 'put', key: 'k', value: 'a' }, response: { revision: 2 } }),
      op({ status: 'indeterminate', request: { type: 'put', key: 'k', value: 'lost?' } }),
      op({ status: 'indeterminate', request: { type: 'put', key: 'j', value: 'never seen' } }),
      op({
        status: 'ok',
        request: { type: 'get', key: 'k' },
        response: { revision: 4, kv: { value: 'lost?', modRevision: 3 } },
      }),
      op({ status: 'ok', request: { type: 'put', key: 'j', value: 'b' }, response: { revision: 6 } }),
    ];
    const r = truthFromHistory(h, { initial: { revision: 1 } });
    expect(r.pinned).toBe(1);
    expect(r.unresolved).toEqual([h[2]?.id]);
    expect(r.truth.unknownRevisions).toEqual([4, 5]);
    expect(r.truth.events.map((e) => `${e.revision}:${e.key}=${e.value}`)).toEqual([
      '2:k=a',
      '3:k=lost?',
      '6:j=b',
    ]);
    // j may have been written at 4 or 5: its version after is not known.
    expect(r.truth.events[2]?.version).toBeUndefined();
    // A watcher spanning 4..5 cannot be judged there; one that ends at 3 can.
    const all3: WatcherHistory = watcher([events(1, ...r.truth.events.slice(0, 2))]);
    expect(checkWatches(r.truth, [all3]).status).toBe('ok');
    const spanning = watcher([events(1, ...r.truth.events)]);
    expect(checkWatches(r.truth, [spanning]).status).toBe('unknown');
  });

  it("from the lab's records: CAS txns and the header revisions of acknowledged writes", () => {
    const base = { clientId: 'c0', outcome: 'ok' as const };
    const records: OperationRecord[] = [
      { ...base, id: 0, kind: 'put', key: 'x', value: 'v0', startMs: 0, endMs: 1, revision: 2 },
      {
        ...base,
        id: 1,
        kind: 'txn',
        key: 'x',
        value: 'v1',
        expectedRevision: 2,
        succeeded: true,
        startMs: 2,
        endMs: 3,
        revision: 3,
      },
      { ...base, id: 2, kind: 'put', key: 'x', value: 'v2', startMs: 4, endMs: 5, outcome: 'fail' },
      { ...base, id: 3, kind: 'delete', key: 'x', deleted: 1, startMs: 6, endMs: 7, revision: 4 },
    ];
    const { truth } = truthFromRecords(records, { initial: { revision: 1 } });
    expect(truth.events.map((e) => `${e.revision}:${e.type}:${e.key}`)).toEqual([
      '2:put:x',
      '3:put:x',
      '4:delete:x',
    ]);
    expect(truth.unknownRevisions).toEqual([]);
  });

  it('two writes claiming one revision: a conflict, left unknown', () => {
    const h = [
      op({ status: 'ok', request: { type: 'put', key: 'k', value: 'a' }, response: { revision: 2 } }),
      op({ status: 'ok', request: { type: 'put', key: 'j', value: 'b' }, response: { revision: 2 } }),
    ];
    const r = truthFromHistory(h, { initial: { revision: 1 } });
    expect(r.conflicts).toEqual([{ revision: 2, operations: [h[0]?.id, h[1]?.id] }]);
    expect(r.truth.unknownRevisions).toEqual([2]);
  });
});

// Generated: a sequential key space and watchers that see exactly what etcd would send.
const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);

describe('generated watch histories', () => {
  it.each(SEEDS)('seed %i: 400 revisions, 6 watchers, 2 reconnects each: all six kept', (seed) => {
    const h = generateWatchHistory({ revisions: 400, watchers: 6, reconnects: 2, seed });
    const r = checkWatches(h.truth, h.watchers);
    expect(r.status, resultText(r)).toBe('ok');
    expect(r.counts.eventsDelivered).toBeGreaterThan(0);
    expect(r.counts.reconnects).toBe(12);
  });

  const MUTATIONS: WatchMutation[] = ['drop', 'duplicate', 'swap', 'split', 'shift-resume'];
  describe.each(MUTATIONS)('mutation %s', (mutation) => {
    it.each(SEEDS)('seed %i: fails, naming the guarantee, watcher and revision', (seed) => {
      const h = generateWatchHistory({ revisions: 400, watchers: 6, reconnects: 2, seed });
      const m = mutateWatchHistory(h, mutation, seed);
      expect(m, 'the generator left a place for the mutation').not.toBeNull();
      if (!m) return;
      const r = checkWatches(h.truth, m.watchers);
      expect(r.status).toBe('violation');
      expect(r.perGuarantee[m.guarantee].status).toBe('violation');
      const hit = r.violations.find(
        (v) => v.guarantee === m.guarantee && v.watcher === m.watcher && v.revisions.includes(m.revision),
      );
      expect(hit, resultText(r)).toBeDefined();
      // Only the mutated watcher is accused.
      expect(r.violations.every((v) => v.watcher === m.watcher)).toBe(true);
    });
  });
});
