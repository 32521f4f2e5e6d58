import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IEvent, IWatchResponse } from 'etcd3';
import { describe, expect, it } from 'vitest';
import {
  changesBetween,
  checkRecordedWatches,
  truthOfRecords,
  watchCheck,
} from '../../src/checks/watch-history.ts';
import type { KvSnapshot, WatcherHistory } from '../../src/checks/watch/index.ts';
import { checkCommand } from '../../src/cli/commands/check.ts';
import { BadInputError } from '../../src/errors.ts';
import type { OperationRecord } from '../../src/history/operation-record.ts';
import { checkHypothesis } from '../../src/plans/experiment/hypothesis.ts';
import { validateExperiment, type FaultExperimentSpec } from '../../src/plans/experiment/spec.ts';
import { coveredRevision, kvEventOf, planWatchers, responseOf } from '../../src/workload/watch-recorder.ts';

/**
 * The watch checker's wiring, without a cluster: the spec and hypothesis keys, the recorder's
 * pure parts (which client a watcher uses, etcd3's responses as the checker's), the truth from a
 * history with the revisions it leaves unknown resolved by reads, the Check, and
 * `etcd-lab check` on a results directory with watches.jsonl.
 */

const base = {
  name: 'x',
  title: 'X',
  cluster: { members: 3 },
  workload: { ratePerSecond: 100, durationMs: 5_000 },
  method: [{ fault: 'kill', target: 'leader', at: 1_000, for: 1_000 }],
  hypothesis: {},
};

const fault = (raw: object): FaultExperimentSpec => {
  const spec = validateExperiment(raw);
  if (spec.kind !== 'fault') throw new Error('expected a fault experiment');
  return spec;
};
const refusal = (raw: object): string => {
  try {
    validateExperiment(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(BadInputError);
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('spec: workload.watchers and hypothesis.watch', () => {
  it('fills in the watchers’ defaults and takes watch: true or a list of guarantees', () => {
    const spec = fault({
      ...base,
      workload: { ...base.workload, watchers: { count: 3 } },
      hypothesis: { watch: ['reliable', 'resumable'] },
    });
    expect(spec.workload.watchers).toEqual({
      count: 3,
      sharedStreams: false,
      connectTo: 'spread',
      progressNotify: true,
      prevKv: false,
      startFrom: 'initial',
    });
    expect(spec.hypothesis.watch).toEqual(['reliable', 'resumable']);
    expect(
      fault({ ...base, workload: { ...base.workload, watchers: { count: 1 } }, hypothesis: { watch: true } })
        .hypothesis.watch,
    ).toBe(true);
  });

  it('refuses bad input in one line naming the field', () => {
    expect(refusal({ ...base, hypothesis: { watch: true } })).toContain(
      'hypothesis.watch: needs workload.watchers',
    );
    expect(
      refusal({
        ...base,
        workload: { ...base.workload, watchers: { count: 1 } },
        hypothesis: { watch: ['orderly'] },
      }),
    ).toMatch(/hypothesis\.watch(\.0)?: /);
    expect(refusal({ ...base, workload: { ...base.workload, watchers: { count: 0 } } })).toContain(
      'workload.watchers.count: ',
    );
    expect(refusal({ ...base, workload: { ...base.workload, watchers: { count: 2, every: 1 } } })).toContain(
      'workload.watchers',
    );
  });
});

describe('watch recorder, pure parts', () => {
  it('puts watchers two by two on one client when streams are shared, each member in turn', () => {
    expect(planWatchers(5, ['m1', 'm2', 'm3'], { sharedStreams: true, connectTo: 'spread' })).toEqual([
      { id: 'w0', client: 'wc0', endpoints: 'm1' },
      { id: 'w1', client: 'wc0', endpoints: 'm1' },
      { id: 'w2', client: 'wc1', endpoints: 'm2' },
      { id: 'w3', client: 'wc1', endpoints: 'm2' },
      { id: 'w4', client: 'wc2', endpoints: 'm3' },
    ]);
    expect(
      planWatchers(4, ['m1', 'm2', 'm3'], { sharedStreams: false, connectTo: 'spread' }).map(
        (p) => p.endpoints,
      ),
    ).toEqual(['m1', 'm2', 'm3', 'm1']);
    expect(
      new Set(planWatchers(3, ['m1'], { sharedStreams: false, connectTo: 'cluster' }).map((p) => p.client))
        .size,
    ).toBe(3);
  });

  const kv = (key: string, value: string, create: number, mod: number, version: number) => ({
    key: Buffer.from(key),
    value: Buffer.from(value),
    create_revision: String(create),
    mod_revision: String(mod),
    version: String(version),
    lease: '0',
  });
  const header = (revision: number) => ({
    cluster_id: '1',
    member_id: '2',
    revision: String(revision),
    raft_term: '3',
  });
  const response = (patch: Partial<IWatchResponse>): IWatchResponse => ({
    header: header(9),
    watch_id: '0',
    created: false,
    canceled: false,
    compact_revision: '0',
    cancel_reason: '',
    fragment: false,
    events: [],
    ...patch,
  });

  it("turns etcd3's responses into the checker's: created, events, progress, cancel, compaction", () => {
    const put = { type: 'Put', kv: kv('e/1', 'b', 3, 7, 2), prev_kv: kv('e/1', 'a', 3, 3, 1) } as IEvent;
    const del = { type: 'Delete', kv: kv('e/2', '', 0, 8, 0), prev_kv: undefined } as unknown as IEvent;
    expect(responseOf(response({ created: true, header: header(5) }), 1, false)).toEqual({
      type: 'created',
      atMs: 1,
      revision: 5,
    });
    expect(responseOf(response({ events: [put, del] }), 2, true)).toEqual({
      type: 'events',
      atMs: 2,
      revision: 9,
      events: [
        {
          revision: 7,
          key: 'e/1',
          type: 'put',
          value: 'b',
          createRevision: 3,
          version: 2,
          prevKv: { key: 'e/1', value: 'a', createRevision: 3, modRevision: 3, version: 1 },
        },
        { revision: 8, key: 'e/2', type: 'delete', prevKv: null },
      ],
    });
    expect(kvEventOf(put, false)).not.toHaveProperty('prevKv');
    expect(responseOf(response({}), 3, false)).toEqual({ type: 'progress', atMs: 3, revision: 9 });
    expect(responseOf(response({ canceled: true, cancel_reason: 'x' }), 4, false)).toEqual({
      type: 'canceled',
      atMs: 4,
      reason: 'x',
    });
    expect(responseOf(response({ canceled: true, compact_revision: '6' }), 5, false)).toEqual({
      type: 'compacted',
      atMs: 5,
      compactRevision: 6,
    });
  });

  it('knows how far a watcher has been told', () => {
    expect(coveredRevision([{ type: 'created', atMs: 0, revision: 4 }])).toBeNull();
    expect(
      coveredRevision([
        { type: 'events', atMs: 1, events: [{ revision: 6, key: 'k', type: 'put' }] },
        { type: 'progress', atMs: 2, revision: 9 },
        { type: 'events', atMs: 3, events: [{ revision: 8, key: 'k', type: 'put' }] },
      ]),
    ).toBe(9);
  });
});

const rec = (r: Partial<OperationRecord> & Pick<OperationRecord, 'id' | 'kind'>): OperationRecord => ({
  clientId: 'c0',
  role: { of: 'workload' },
  startMs: r.id * 10,
  endMs: r.id * 10 + 5,
  outcome: 'ok',
  ...r,
});
// Revision 1 before the workload; puts at 2 and 3, a delete at 4, a timed-out put that applied at 5.
const RECORDS: OperationRecord[] = [
  rec({ id: 0, kind: 'put', key: 'e/1', value: 'a', revision: 2 }),
  rec({ id: 1, kind: 'put', key: 'e/2', value: 'b', revision: 3 }),
  rec({ id: 2, kind: 'delete', key: 'e/1', revision: 4, deleted: 1 }),
  rec({ id: 3, kind: 'put', key: 'e/2', value: 'c', outcome: 'indeterminate' }),
];
const snap = (key: string, value: string, create: number, mod: number, version: number): KvSnapshot => ({
  key,
  value,
  createRevision: create,
  modRevision: mod,
  version,
});
// What range reads at 4 and 5 return.
const AT4 = new Map([['e/2', snap('e/2', 'b', 3, 3, 1)]]);
const AT5 = new Map([['e/2', snap('e/2', 'c', 3, 5, 2)]]);
const RESOLVED = { revisions: [5], events: changesBetween(AT4, AT5, 5) };
const EVENTS = [
  { revision: 2, key: 'e/1', type: 'put' as const, value: 'a', createRevision: 2, version: 1 },
  { revision: 3, key: 'e/2', type: 'put' as const, value: 'b', createRevision: 3, version: 1 },
  { revision: 4, key: 'e/1', type: 'delete' as const },
  { revision: 5, key: 'e/2', type: 'put' as const, value: 'c', createRevision: 3, version: 2 },
];
const watcher = (id: string, events = EVENTS): WatcherHistory => ({
  id,
  request: { range: { key: 'e/', prefix: true }, startRevision: 2 },
  responses: [
    { type: 'created', atMs: 0, revision: 1 },
    { type: 'events', atMs: 10, events: events.slice(0, 2) },
    { type: 'reconnect', atMs: 15, resumeRevision: 4 },
    { type: 'events', atMs: 20, events: events.slice(2) },
  ],
});
const OPTIONS = { prefix: 'e/', initialRevision: 1, finalRevision: 5 };

describe('the truth and the check', () => {
  it('reads a revision’s changes from the keys before and at it', () => {
    expect(RESOLVED.events).toEqual([EVENTS[3]]);
    expect(changesBetween(AT5, new Map(), 6)).toEqual([{ revision: 6, key: 'e/2', type: 'delete' }]);
  });

  it('leaves the revisions after the history’s last unknown until they are read back', () => {
    expect(truthOfRecords(RECORDS, OPTIONS).truth.unknownRevisions).toEqual([5]);
    const resolved = truthOfRecords(RECORDS, { ...OPTIONS, resolved: RESOLVED }).truth;
    expect(resolved.unknownRevisions).toEqual([]);
    expect(resolved.events.map((e) => e.revision)).toEqual([2, 3, 4, 5]);
  });

  it('holds on a complete stream, deviates on a dropped event, and is inconclusive without the reads', () => {
    const ok = checkRecordedWatches(RECORDS, [watcher('w0')], { ...OPTIONS, resolved: RESOLVED });
    expect(ok.status).toBe('ok');
    expect(
      watchCheck(ok, ['ordered', 'unique', 'atomic', 'bookmarkable', 'reliable', 'resumable']),
    ).toMatchObject({
      name: 'watch guarantees',
      verdict: 'held',
    });

    const dropped = checkRecordedWatches(
      RECORDS,
      [
        watcher(
          'w0',
          EVENTS.filter((e) => e.revision !== 3),
        ),
      ],
      {
        ...OPTIONS,
        resolved: RESOLVED,
      },
    );
    expect(dropped.status).toBe('violation');
    const check = watchCheck(dropped, ['reliable']);
    expect(check.verdict).toBe('deviated');
    expect(check.name).toBe('watch guarantees (reliable)');
    expect(check.details).toContain('reliable');

    const unread = checkRecordedWatches(RECORDS, [watcher('w0')], OPTIONS);
    expect(unread.status).toBe('unknown');
    expect(watchCheck(unread, ['reliable']).verdict).toBe('inconclusive');
    expect(watchCheck(null, ['reliable']).verdict).toBe('inconclusive');
  });

  it('a subset of guarantees is held when those hold, whatever the others', () => {
    // 'ordered' does not need the truth's unknown revision: decided without the reads.
    const unread = checkRecordedWatches(RECORDS, [watcher('w0')], { ...OPTIONS, guarantees: ['ordered'] });
    expect(unread.status).toBe('ok');
  });

  it('the hypothesis key adds the check, held only on ok', () => {
    const spec = fault({
      ...base,
      workload: { ...base.workload, watchers: { count: 1 } },
      hypothesis: { watch: true },
    });
    const outcome = checkRecordedWatches(RECORDS, [watcher('w0')], { ...OPTIONS, resolved: RESOLVED });
    const checks = checkHypothesis(
      spec,
      [],
      null,
      null,
      null,
      { baselineLatenciesMs: [] },
      'completed',
      null,
      outcome,
    );
    expect(checks.map((c) => [c.name, c.verdict])).toEqual([['watch guarantees', 'held']]);
    const none = checkHypothesis(
      spec,
      [],
      null,
      null,
      null,
      { baselineLatenciesMs: [] },
      'completed',
      null,
      null,
    );
    expect(none[0]?.verdict).toBe('inconclusive');
  });
});

describe('etcd-lab check on a results directory with watches.jsonl', () => {
  const jsonl = (rows: readonly object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const results = async (watchers: readonly WatcherHistory[], withResult = true): Promise<string> => {
    const dir = join(await mkdtemp(join(tmpdir(), 'etcd-lab-watch-')), 'results');
    await mkdir(dir);
    await writeFile(join(dir, 'history.jsonl'), jsonl(RECORDS));
    await writeFile(join(dir, 'watches.jsonl'), jsonl(watchers));
    if (withResult)
      await writeFile(
        join(dir, 'result.json'),
        JSON.stringify({
          linearizability: null,
          watch: { ...OPTIONS, resolved: RESOLVED, guarantees: ['reliable', 'unique'] },
        }),
      );
    return dir;
  };
  const run = async (target: string) => {
    let out = '';
    const code = await checkCommand(target, {}, (text) => (out += text));
    return { code, out };
  };

  it('re-checks the watchers with the truth the run built; the exit code is the worse of the two', async () => {
    const ok = await run(await results([watcher('w0'), watcher('w1')]));
    expect(ok.out).toContain('watch: ok: reliable, unique kept');
    // result.json says the run did not ask for linearizability: only the watchers are re-checked.
    expect(ok.out).not.toContain('linearizable');
    expect(ok.code).toBe(0);

    const twice = watcher('w1', [...EVENTS.slice(0, 3), EVENTS[2]!, EVENTS[3]!]);
    const bad = await run(await results([watcher('w0'), twice]));
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/unique: watcher w1 received an event again/);

    // Without result.json: nothing was read back, so revision 5 is unknown — never "ok".
    const bare = await run(await results([watcher('w0')], false));
    expect(bare.code).toBe(3);
    // …and the history is checked for linearizability as before (it is: 0), the worse code wins.
    expect(bare.out).toMatch(/^linearizable \(/);
  });

  it('refuses a watches.jsonl that is not one', async () => {
    const dir = await results([watcher('w0')]);
    await writeFile(join(dir, 'watches.jsonl'), '{"id": 1}\n');
    await expect(run(dir)).rejects.toThrow(/watches .*line 1: not a watcher/);
  });
});
