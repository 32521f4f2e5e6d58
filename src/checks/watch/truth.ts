import type { OperationRecord } from '../../history/operation-record.ts';
import { fromOperationRecords } from '../linearizability/from-records.ts';
import type { HistoryOperation, InitialState, KvRequest } from '../linearizability/types.ts';
import type { KeyRange, KvEvent, KvSnapshot, WriteTruth } from './types.ts';

/**
 * Where the watch checker's truth comes from. Two sources:
 *
 * 1. A final full-history read, supplied as events (`truthFromEvents`): e.g. a watch from the
 *    first revision opened on the healthy cluster after the run, before any compaction. It knows
 *    every revision, including those of writes whose outcome the clients never learnt.
 *
 * 2. The run's own writes (`truthFromHistory`, `truthFromRecords`). etcd gives every write that
 *    changed something its own revision, and an acknowledged write's response header carries it:
 *    a put, a delete that deleted, a txn whose branch taken writes, each owns its header
 *    revision, and its changes are known from its request. What is not known:
 *    - the revisions of indeterminate writes (the call errored; it may have applied, at any
 *      revision, or never) — except one whose value a read returned with its mod revision: the
 *      lab's values are unique per write, so that write applied, at that revision (it is
 *      "pinned" there, as the linearizability checker pins it);
 *    - the revision of a delete whose deleted count, or a txn whose branch, was not recorded.
 *    Every revision between the first and the last one the history shows that no write owns is
 *    therefore unknown (`unknownRevisions`): some write took it, and which keys it changed is
 *    not known. A watcher whose range spans one is judged 'unknown' there, never 'ok'.
 *    This assumes the recorded clients are the only writers (as src/checks/linearizable-history.ts
 *    explains for an experiment's cluster).
 *
 * Create revisions, versions and previous values follow by replaying the changes from the
 * initial store; a key an unknown revision may have changed (one an unresolved write touched)
 * loses them from there until a known delete makes it absent again.
 */

export interface TruthFromEventsOptions {
  /** First revision the events cover (default: the first event's; 1 without events). */
  readonly fromRevision?: number;
  /** Last revision they cover (default: the last event's). */
  readonly toRevision?: number;
  /** Keys they cover (default: every key). */
  readonly keySpace?: KeyRange;
  /** Revisions within the range whose changes are not known (default none). */
  readonly unknownRevisions?: readonly number[];
}

/** The truth from a complete list of changes (a final full-history read). */
export function truthFromEvents(
  events: readonly KvEvent[],
  options: TruthFromEventsOptions = {},
): WriteTruth {
  const first = events[0]?.revision ?? 1;
  const last = events[events.length - 1]?.revision ?? first - 1;
  return {
    events,
    fromRevision: options.fromRevision ?? first,
    toRevision: options.toRevision ?? last,
    unknownRevisions: options.unknownRevisions ?? [],
    ...(options.keySpace ? { keySpace: options.keySpace } : {}),
  };
}

export interface HistoryTruth {
  readonly truth: WriteTruth;
  /** Ids of writes whose revision (or whether they changed anything) is not known. */
  readonly unresolved: readonly number[];
  /** Indeterminate writes placed by a read of their value. */
  readonly pinned: number;
  /**
   * Revisions two writes claimed (a history that is not linearizable, or records that are
   * wrong): left unknown, and said here.
   */
  readonly conflicts: readonly { readonly revision: number; readonly operations: readonly number[] }[];
}

export interface TruthFromHistoryOptions {
  /**
   * The store before the history's first call. Without it, the truth starts at the first
   * revision a write owns, and keys' earlier states are unknown until a delete.
   */
  readonly initial?: InitialState;
}

interface Owner {
  readonly op: HistoryOperation;
  /** The requests that took effect at this revision. */
  readonly requests: readonly KvRequest[];
}

const writesOf = (requests: readonly KvRequest[]): KvRequest[] => requests.filter((q) => q.type !== 'get');

function keysWritten(op: HistoryOperation): string[] {
  const q = op.request;
  if (q.type === 'put' || q.type === 'delete') return [q.key];
  if (q.type === 'get') return [];
  return [...writesOf(q.success), ...writesOf(q.failure)].map((w) => w.key);
}

/** Values written, for pinning: put value, or a txn's success-branch puts. */
function valuesWritten(op: HistoryOperation): { key: string; value: string; requests: KvRequest[] }[] {
  const q = op.request;
  if (q.type === 'put') return [{ key: q.key, value: q.value, requests: [q] }];
  if (q.type !== 'txn') return [];
  return q.success.flatMap((w) =>
    w.type === 'put' ? [{ key: w.key, value: w.value, requests: [...q.success] }] : [],
  );
}

/** The truth from a linearizability history's writes (see the module comment). Pure. */
export function truthFromHistory(
  history: readonly HistoryOperation[],
  options: TruthFromHistoryOptions = {},
): HistoryTruth {
  const claims = new Map<number, Owner[]>();
  const claim = (revision: number, owner: Owner): void => {
    const list = claims.get(revision) ?? [];
    list.push(owner);
    claims.set(revision, list);
  };
  const unresolved = new Set<number>();
  let maxRevision = options.initial?.revision ?? -Infinity;

  for (const op of history) {
    const r = op.response?.revision;
    if (op.status === 'ok' && r !== undefined) maxRevision = Math.max(maxRevision, r);
    if (op.status !== 'ok') {
      if (keysWritten(op).length > 0) unresolved.add(op.id);
      continue;
    }
    const q = op.request;
    if (q.type === 'get') continue;
    if (r === undefined) {
      unresolved.add(op.id);
      continue;
    }
    if (q.type === 'put') claim(r, { op, requests: [q] });
    else if (q.type === 'delete') {
      const deleted = op.response?.deleted;
      if (deleted === undefined) unresolved.add(op.id);
      else if (deleted > 0) claim(r, { op, requests: [q] });
    } else {
      const succeeded = op.response?.succeeded;
      if (succeeded === undefined) {
        if (writesOf(q.success).length + writesOf(q.failure).length > 0) unresolved.add(op.id);
        continue;
      }
      const branch = writesOf(succeeded ? q.success : q.failure);
      if (branch.some((w) => w.type === 'put')) claim(r, { op, requests: branch });
      // A branch of deletes only bumps the revision if a key existed: whether r is its own is
      // not known from the response.
      else if (branch.length > 0) unresolved.add(op.id);
    }
  }

  // Pin indeterminate writes whose unique value a read returned with its mod revision.
  const writers = new Map<string, HistoryOperation[]>();
  for (const op of history)
    for (const w of valuesWritten(op)) {
      const k = `${w.key}\0${w.value}`;
      writers.set(k, [...(writers.get(k) ?? []), op]);
    }
  let pinned = 0;
  const pinnedIds = new Set<number>();
  for (const op of history) {
    if (op.status !== 'ok' || !op.response) continue;
    const reads: { key: string; kv: { value?: string; modRevision?: number } | null | undefined }[] = [];
    if (op.request.type === 'get') reads.push({ key: op.request.key, kv: op.response.kv });
    if (op.request.type === 'txn') {
      const branch = op.response.succeeded ? op.request.success : op.request.failure;
      (op.response.results ?? []).forEach((res, i) => {
        const q = branch[i];
        if (q?.type === 'get') reads.push({ key: q.key, kv: res.kv });
      });
    }
    for (const { key, kv } of reads) {
      if (!kv || kv.value === undefined || kv.modRevision === undefined) continue;
      const candidates = writers.get(`${key}\0${kv.value}`) ?? [];
      const w = candidates[0];
      if (candidates.length !== 1 || !w || w.status !== 'indeterminate' || pinnedIds.has(w.id)) continue;
      const written = valuesWritten(w).find((x) => x.key === key && x.value === kv.value);
      if (!written) continue;
      pinnedIds.add(w.id);
      unresolved.delete(w.id);
      pinned += 1;
      claim(kv.modRevision, { op: w, requests: writesOf(written.requests) });
      maxRevision = Math.max(maxRevision, kv.modRevision);
    }
  }

  const claimed = [...claims.keys()].sort((a, b) => a - b);
  const fromRevision = options.initial ? options.initial.revision + 1 : (claimed[0] ?? 1);
  const toRevision = Number.isFinite(maxRevision) ? maxRevision : fromRevision - 1;
  const conflicts: { revision: number; operations: number[] }[] = [];
  const unknown = new Set<number>();
  for (let r = fromRevision; r <= toRevision; r += 1) {
    const owners = claims.get(r);
    if (!owners) unknown.add(r);
    else if (owners.length > 1) {
      conflicts.push({ revision: r, operations: owners.map((o) => o.op.id) });
      unknown.add(r);
    }
  }

  // Replay: events per revision, with create revision, version and prev kv where known.
  interface Stored {
    value: string;
    create: number;
    mod: number;
    version: number;
  }
  const state = new Map<string, Stored | null>(); // null: known absent; missing entry: see `knownByDefault`
  const knownByDefault = options.initial !== undefined;
  for (const [key, kv] of options.initial?.kvs ?? [])
    state.set(key, { value: kv.value, create: kv.createRevision, mod: kv.modRevision, version: kv.version });
  const unknownKeys = new Set<string>();
  const uncertainKeys = new Set<string>(
    history.filter((op) => unresolved.has(op.id)).flatMap((op) => keysWritten(op)),
  );
  const known = (key: string): boolean => !unknownKeys.has(key) && (knownByDefault || state.has(key));
  const snapshot = (key: string): KvSnapshot | null => {
    const s = state.get(key);
    return s
      ? { key, value: s.value, createRevision: s.create, modRevision: s.mod, version: s.version }
      : null;
  };
  const events: KvEvent[] = [];
  for (let r = fromRevision; r <= toRevision; r += 1) {
    if (unknown.has(r)) {
      for (const key of uncertainKeys) unknownKeys.add(key);
      continue;
    }
    const owner = (claims.get(r) ?? [])[0];
    if (!owner) continue;
    const atRevision: KvEvent[] = [];
    let undecided = false;
    for (const q of owner.requests) {
      if (q.type === 'get') continue;
      const isKnown = known(q.key);
      const prev = isKnown ? snapshot(q.key) : undefined;
      if (q.type === 'put') {
        atRevision.push({
          revision: r,
          key: q.key,
          type: 'put',
          value: q.value,
          ...(prev !== undefined
            ? { createRevision: prev?.createRevision ?? r, version: (prev?.version ?? 0) + 1, prevKv: prev }
            : {}),
        });
        if (isKnown)
          state.set(q.key, {
            value: q.value,
            create: prev?.createRevision ?? r,
            mod: r,
            version: (prev?.version ?? 0) + 1,
          });
      } else {
        // A plain delete that reported deleting, or a txn's delete of a key known to exist.
        const plainDeleted = owner.op.request.type === 'delete';
        if (!plainDeleted && !isKnown) undecided = true;
        else if (plainDeleted || prev) {
          atRevision.push({
            revision: r,
            key: q.key,
            type: 'delete',
            ...(prev !== undefined ? { prevKv: prev } : {}),
          });
        }
        state.set(q.key, null);
        unknownKeys.delete(q.key);
      }
    }
    if (undecided) {
      unknown.add(r);
      for (const key of uncertainKeys) unknownKeys.add(key);
      continue;
    }
    events.push(...atRevision);
  }

  return {
    truth: {
      events,
      fromRevision,
      toRevision,
      unknownRevisions: [...unknown].sort((a, b) => a - b),
    },
    unresolved: [...unresolved].sort((a, b) => a - b),
    pinned,
    conflicts,
  };
}

/** The truth from the lab's recorded operations (adapted as the linearizability checker adapts them). */
export function truthFromRecords(
  records: Iterable<OperationRecord>,
  options: TruthFromHistoryOptions = {},
): HistoryTruth {
  return truthFromHistory(fromOperationRecords(records).history, options);
}
