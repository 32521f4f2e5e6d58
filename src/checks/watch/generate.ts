import { createRng, type Rng } from '../../workload/rng.ts';
import { watchMatches } from './key-range.ts';
import type {
  KvEvent,
  KvSnapshot,
  WatchRequest,
  WatchResponse,
  WatcherHistory,
  WriteTruth,
} from './types.ts';

/**
 * Watch histories for tests and benches: a sequential etcd key space takes one write per
 * revision (a put, a delete of a key that exists, or a txn changing two or three keys at once),
 * and each watcher is sent exactly what etcd would send it — the matching changes from its start,
 * whole revisions per response, a few revisions per response, progress notifications that
 * follow everything they cover, and reconnects that resume from the revision after the last one
 * the watcher was told about. Such a history keeps every guarantee; `mutateWatchHistory` then
 * breaks one. The key space is written here apart from the checker on purpose.
 */
export interface WatchGeneratorOptions {
  /** Writes, one revision each, from revision 2 (the store starts empty at revision 1). */
  readonly revisions: number;
  /** Keys per prefix ("a/0"…, "b/0"…). Default 5. */
  readonly keys?: number;
  readonly watchers?: number;
  readonly seed?: number;
  /** Share of writes that are multi-key txns (default 0.2) and deletes (default 0.15). */
  readonly txnShare?: number;
  readonly deleteShare?: number;
  /** Reconnects per watcher (default 1). */
  readonly reconnects?: number;
  /** About one progress notification per this many revisions, for watchers that ask (default 10). */
  readonly progressEvery?: number;
}

export interface GeneratedWatchHistory {
  readonly truth: WriteTruth;
  readonly watchers: WatcherHistory[];
}

interface Stored {
  value: string;
  create: number;
  mod: number;
  version: number;
}

function keySpace(rng: Rng, revisions: number, keysPerPrefix: number, txnShare: number, deleteShare: number) {
  const keys = ['a', 'b'].flatMap((p) => Array.from({ length: keysPerPrefix }, (_, i) => `${p}/${i}`));
  const store = new Map<string, Stored>();
  const events: KvEvent[] = [];
  const snapshot = (key: string): KvSnapshot | null => {
    const s = store.get(key);
    return s
      ? { key, value: s.value, createRevision: s.create, modRevision: s.mod, version: s.version }
      : null;
  };
  const put = (revision: number, key: string, value: string): void => {
    const prev = store.get(key);
    const next = {
      value,
      create: prev?.create ?? revision,
      mod: revision,
      version: (prev?.version ?? 0) + 1,
    };
    events.push({
      revision,
      key,
      type: 'put',
      value,
      createRevision: next.create,
      version: next.version,
      prevKv: snapshot(key),
    });
    store.set(key, next);
  };
  const del = (revision: number, key: string): void => {
    events.push({ revision, key, type: 'delete', prevKv: snapshot(key) });
    store.delete(key);
  };
  const pick = (): string => keys[rng.int(keys.length)] as string;
  for (let revision = 2; revision < revisions + 2; revision += 1) {
    const roll = rng.next();
    if (roll < txnShare) {
      const touched = new Set<string>();
      const n = 2 + rng.int(2);
      while (touched.size < n) touched.add(pick());
      let k = 0;
      for (const key of touched) {
        // At least the first change is a put, so the txn always writes.
        if (k > 0 && store.has(key) && rng.next() < deleteShare) del(revision, key);
        else put(revision, key, `v${revision}.${k}`);
        k += 1;
      }
    } else if (roll < txnShare + deleteShare && store.size > 0) {
      const existing = [...store.keys()];
      del(revision, existing[rng.int(existing.length)] as string);
    } else put(revision, pick(), `v${revision}`);
  }
  return events;
}

function randomRequest(rng: Rng, keysPerPrefix: number, lastRevision: number): WatchRequest {
  const roll = rng.next();
  const range =
    roll < 0.35
      ? { key: '', prefix: true }
      : roll < 0.75
        ? { key: rng.next() < 0.5 ? 'a/' : 'b/', prefix: true }
        : roll < 0.9
          ? { key: `a/${rng.int(keysPerPrefix)}` }
          : { key: 'a/', rangeEnd: '\0' };
  const filter = rng.next() < 0.1 ? { filters: [rng.next() < 0.5 ? 'noput' : 'nodelete'] as const } : {};
  return {
    range,
    startRevision: rng.next() < 0.3 ? 'now' : 1 + rng.int(Math.max(1, Math.floor(lastRevision / 2))),
    progressNotify: rng.next() < 0.6,
    prevKv: rng.next() < 0.5,
    ...filter,
  };
}

/** A linearizable key space and watchers that see exactly what etcd would send them. */
export function generateWatchHistory(options: WatchGeneratorOptions): GeneratedWatchHistory {
  const rng = createRng(options.seed ?? 1);
  const keysPerPrefix = options.keys ?? 5;
  const events = keySpace(
    rng,
    options.revisions,
    keysPerPrefix,
    options.txnShare ?? 0.2,
    options.deleteShare ?? 0.15,
  );
  const lastRevision = options.revisions + 1;
  const truth: WriteTruth = { events, fromRevision: 2, toRevision: lastRevision, unknownRevisions: [] };
  const watchers: WatcherHistory[] = [];
  const count = options.watchers ?? 4;
  const reconnects = options.reconnects ?? 1;
  const progressEvery = options.progressEvery ?? 10;
  // Changes by revision, for delivery.
  const byRevision = new Map<number, KvEvent[]>();
  for (const e of events) byRevision.set(e.revision, [...(byRevision.get(e.revision) ?? []), e]);

  for (let w = 0; w < count; w += 1) {
    const wr = createRng(options.seed ?? 1, w + 1);
    const request = randomRequest(wr, keysPerPrefix, lastRevision);
    const responses: WatchResponse[] = [];
    let start: number;
    if (request.startRevision === 'now') {
      const created = 1 + wr.int(Math.max(1, Math.floor(lastRevision / 2)));
      start = created + 1;
      responses.push({ type: 'created', atMs: created, revision: created });
    } else {
      start = request.startRevision;
      responses.push({ type: 'created', atMs: 0, revision: 1 });
    }
    const reconnectAt = new Set(
      Array.from({ length: reconnects }, () => start + wr.int(Math.max(1, lastRevision - start))),
    );
    let covered = start - 1;
    let pending: KvEvent[] = [];
    const flush = (atMs: number): void => {
      if (pending.length === 0) return;
      responses.push({ type: 'events', atMs, revision: atMs, events: pending });
      covered = Math.max(covered, (pending[pending.length - 1] as KvEvent).revision);
      pending = [];
    };
    for (let revision = start; revision <= lastRevision; revision += 1) {
      const matching = (byRevision.get(revision) ?? [])
        .filter((e) => watchMatches(request, e.key, e.type))
        .map((e) => (request.prevKv ? e : withoutPrevKv(e)));
      if (matching.length > 0) {
        pending.push(...matching);
        // A few revisions per response, each whole.
        if (wr.next() < 0.5) flush(revision);
      }
      if (request.progressNotify && wr.next() < 1 / progressEvery) {
        flush(revision);
        responses.push({ type: 'progress', atMs: revision, revision });
        covered = revision;
      }
      if (reconnectAt.has(revision)) {
        flush(revision);
        // A correct library: from the revision after the last one it was told about.
        const resumeRevision = wr.next() < 0.5 ? covered + 1 : lastDelivered(responses, start) + 1;
        responses.push({ type: 'reconnect', atMs: revision + 0.5, resumeRevision });
        // Resuming below `covered` re-sends nothing: between the last event and `covered`
        // nothing matched.
        covered = resumeRevision - 1;
      }
    }
    flush(lastRevision);
    if (request.progressNotify)
      responses.push({ type: 'progress', atMs: lastRevision + 1, revision: lastRevision });
    watchers.push({ id: `w${w}`, request, responses });
  }
  return { truth, watchers };
}

function withoutPrevKv(e: KvEvent): KvEvent {
  const { prevKv: _prevKv, ...rest } = e;
  return rest;
}

function lastDelivered(responses: readonly WatchResponse[], start: number): number {
  for (let i = responses.length - 1; i >= 0; i -= 1) {
    const r = responses[i];
    if (r?.type === 'events' && r.events.length > 0)
      return (r.events[r.events.length - 1] as KvEvent).revision;
  }
  return start - 1;
}

export type WatchMutation = 'drop' | 'duplicate' | 'swap' | 'split' | 'shift-resume';

/** What a mutation broke: which watcher, at which revision, and the guarantee it must break. */
export interface MutatedWatchHistory {
  readonly watchers: WatcherHistory[];
  readonly watcher: string;
  readonly revision: number;
  readonly guarantee: 'reliable' | 'unique' | 'ordered' | 'atomic' | 'resumable';
}

const GUARANTEE_OF: Readonly<Record<WatchMutation, MutatedWatchHistory['guarantee']>> = {
  drop: 'reliable',
  duplicate: 'unique',
  swap: 'ordered',
  split: 'atomic',
  'shift-resume': 'resumable',
};

type EventsResponse = Extract<WatchResponse, { type: 'events' }>;

/**
 * One anomaly in one watcher's stream, chosen with the seed (null: no watcher has a place for
 * it, e.g. no txn over two watched keys to split):
 * - drop: an event is never delivered (reliable);
 * - duplicate: an event is delivered again at the end of the next response (unique);
 * - swap: two adjacent responses arrive in the opposite order (ordered);
 * - split: a revision's changes are sent in two responses (atomic);
 * - shift-resume: a stream with a known start (a watch from a revision, or a reconnect that
 *   resumed from one) begins after its first revision (resumable).
 */
export function mutateWatchHistory(
  history: GeneratedWatchHistory,
  mutation: WatchMutation,
  seed: number,
): MutatedWatchHistory | null {
  const rng = createRng(seed, 99);
  const order = history.watchers.map((_, i) => i).sort(() => rng.next() - 0.5);
  for (const wi of order) {
    const w = history.watchers[wi] as WatcherHistory;
    const result = mutateOne(w, mutation, rng);
    if (!result) continue;
    const watchers = history.watchers.map((x, i) => (i === wi ? { ...x, responses: result.responses } : x));
    return { watchers, watcher: w.id, revision: result.revision, guarantee: GUARANTEE_OF[mutation] };
  }
  return null;
}

function mutateOne(
  w: WatcherHistory,
  mutation: WatchMutation,
  rng: Rng,
): { responses: WatchResponse[]; revision: number } | null {
  const responses = [...w.responses];
  const eventIdx = responses
    .map((r, i) => (r.type === 'events' && r.events.length > 0 ? i : -1))
    .filter((i) => i >= 0);
  const at = (i: number): EventsResponse => responses[i] as EventsResponse;
  const choose = <T>(xs: readonly T[]): T | undefined => xs[rng.int(xs.length)];
  if (mutation === 'drop') {
    const i = choose(eventIdx);
    if (i === undefined) return null;
    const r = at(i);
    const k = rng.int(r.events.length);
    const dropped = r.events[k] as KvEvent;
    responses[i] = { ...r, events: r.events.filter((_, j) => j !== k) };
    return { responses, revision: dropped.revision };
  }
  if (mutation === 'duplicate') {
    const i = choose(eventIdx);
    if (i === undefined) return null;
    const r = at(i);
    const again = r.events[rng.int(r.events.length)] as KvEvent;
    const next = eventIdx.find((j) => j > i) ?? i;
    responses[next] = { ...at(next), events: [...at(next).events, again] };
    return { responses, revision: again.revision };
  }
  if (mutation === 'swap') {
    const pairs = eventIdx.filter((i) => eventIdx.includes(i + 1));
    const i = choose(pairs);
    if (i === undefined) return null;
    const [a, b] = [at(i), at(i + 1)];
    responses[i] = { ...b, atMs: a.atMs };
    responses[i + 1] = { ...a, atMs: b.atMs };
    return { responses, revision: (a.events[0] as KvEvent).revision };
  }
  if (mutation === 'split') {
    const places: { i: number; k: number }[] = [];
    for (const i of eventIdx) {
      const evs = at(i).events;
      for (let k = 1; k < evs.length; k += 1)
        if ((evs[k] as KvEvent).revision === (evs[k - 1] as KvEvent).revision) places.push({ i, k });
    }
    const p = choose(places);
    if (!p) return null;
    const r = at(p.i);
    responses.splice(
      p.i,
      1,
      { ...r, events: r.events.slice(0, p.k) },
      { ...r, atMs: r.atMs + 0.25, events: r.events.slice(p.k) },
    );
    return { responses, revision: (r.events[p.k] as KvEvent).revision };
  }
  // shift-resume: the first events response of a stream with a known start loses its first revision.
  // Only where the stream goes on past that revision: its next event must show the shift.
  const starts: number[] = [];
  let segmentOpen = typeof w.request.startRevision === 'number';
  for (let i = 0; i < responses.length; i += 1) {
    const r = responses[i] as WatchResponse;
    if (r.type === 'reconnect') segmentOpen = r.resumeRevision !== undefined;
    else if (r.type === 'events' && r.events.length > 0 && segmentOpen) {
      segmentOpen = false;
      const first = (r.events[0] as KvEvent).revision;
      const nextReconnect = responses.findIndex((x, j) => j > i && x.type === 'reconnect');
      const goesOn =
        r.events.some((e) => e.revision !== first) ||
        responses.some(
          (x, j) =>
            j > i && (nextReconnect < 0 || j < nextReconnect) && x.type === 'events' && x.events.length > 0,
        );
      if (goesOn) starts.push(i);
    }
  }
  const i = choose(starts);
  if (i === undefined) return null;
  const r = at(i);
  const firstRevision = (r.events[0] as KvEvent).revision;
  responses[i] = { ...r, events: r.events.filter((e) => e.revision !== firstRevision) };
  return { responses, revision: firstRevision };
}
