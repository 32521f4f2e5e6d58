import type { Compare, HistoryOperation, InitialState, KeyValue, KvRequest, Response } from './types.ts';

/**
 * etcd's KV store as a sequential model, mutable with an undo log (the search backtracks
 * in LIFO order, so undoing is cheaper than copying states) and an incremental 2×32-bit
 * fingerprint of the whole state for the search's memo.
 *
 * Semantics (etcd v3 mvcc): one global revision. A put bumps it, and the key's mod revision
 * becomes the new revision (create revision too, and version 1, if the key was absent;
 * version + 1 otherwise). A delete bumps it only if the key existed. A txn evaluates its
 * compares (all must hold) against the state before it, runs the success or failure branch
 * in order — reads in the branch see the branch's earlier writes — and bumps the revision
 * once if anything changed; every key it wrote gets that revision. A response's header
 * revision is the revision after the operation (a read: the current one).
 *
 * Revisions: with `checkRevisions`, header, mod and create revisions are compared. If the
 * initial revision is not known, the revision is unknown until the first response that
 * carries one fixes it; keys written before that have unknown mod / create revisions, which
 * are not checked (a compare on an unknown mod revision: an acknowledged txn's own
 * `succeeded` is taken as given, an indeterminate one takes the failure branch — a
 * limitation: it may miss a linearization and call a valid history a violation).
 * Without `checkRevisions` nothing revision-valued is checked and compares on mod / create
 * revisions are refused by the checker (the model's own counter is not etcd's then).
 */

interface KeyState {
  readonly value: string;
  readonly mod: number; // NaN: unknown
  readonly create: number; // NaN: unknown
  readonly version: number;
  readonly h1: number;
  readonly h2: number;
}

export interface PreparedOperation {
  /** Index in call order. */
  readonly index: number;
  readonly op: HistoryOperation;
  readonly ok: boolean;
  /**
   * Returned header revision (NaN: none, or revisions not checked); an indeterminate write
   * read back: the revision it must have applied at.
   */
  readonly revision: number;
  /** The highest revision the store may reach before this operation is placed (NaN: any). */
  readonly ceiling: number;
  /** An indeterminate operation the watch truth bounds: the revisions it may apply at. */
  readonly allowed?: ReadonlySet<number>;
}

function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x5bd1e995);
  h ^= h >>> 15;
  return Math.imul(h, 0x27d4eb2d) ^ (h >>> 13);
}

function hashString(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i += 1) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix(h, s.length);
}

const num = (n: number): number => (Number.isNaN(n) ? -1 : n | 0);

/** Why a step was refused, when asked for (the report); otherwise a shared constant. */
const REFUSED = 'refused';

export class KvModel {
  revision: number;
  h1 = 0x2545f491;
  h2 = 0x6c8e9cf5;
  private readonly keys = new Map<string, KeyState>();
  private readonly undoKeys: string[] = [];
  private readonly undoPrev: (KeyState | undefined)[] = [];
  private readonly keyHash = new Map<string, readonly [number, number]>();

  constructor(
    initial: InitialState | undefined,
    private readonly checkRevisions: boolean,
  ) {
    this.revision = initial?.revision ?? NaN;
    for (const [key, kv] of initial?.kvs ?? []) {
      this.setKey(key, this.keyState(key, kv.value, kv.modRevision, kv.createRevision, kv.version));
    }
    this.undoKeys.length = 0;
    this.undoPrev.length = 0;
  }

  /** A mark to undo to: the undo log's length, the revision and the fingerprint. */
  mark(): readonly [number, number, number, number] {
    return [this.undoKeys.length, this.revision, this.h1, this.h2];
  }

  undo(mark: readonly [number, number, number, number]): void {
    const [length, revision, h1, h2] = mark;
    for (let i = this.undoKeys.length - 1; i >= length; i -= 1) {
      const key = this.undoKeys[i] as string;
      const prev = this.undoPrev[i];
      if (prev === undefined) this.keys.delete(key);
      else this.keys.set(key, prev);
    }
    this.undoKeys.length = length;
    this.undoPrev.length = length;
    this.revision = revision;
    this.h1 = h1;
    this.h2 = h2;
  }

  /** The state's fingerprint, revision included. */
  fingerprint(): readonly [number, number] {
    return [mix(this.h1, num(this.revision)), mix(this.h2 ^ 0x7f4a7c15, num(this.revision))];
  }

  get(key: string): KeyState | undefined {
    return this.keys.get(key);
  }

  describeKey(key: string): string {
    const s = this.keys.get(key);
    if (!s) return `${key} absent`;
    return `${key}=${JSON.stringify(s.value)} (mod ${rev(s.mod)}, create ${rev(s.create)}, version ${s.version})`;
  }

  private keyHashes(key: string): readonly [number, number] {
    let h = this.keyHash.get(key);
    if (!h) {
      h = [hashString(key, 0x811c9dc5), hashString(key, 0x1b873593)];
      this.keyHash.set(key, h);
    }
    return h;
  }

  private keyState(key: string, value: string, mod: number, create: number, version: number): KeyState {
    const [k1, k2] = this.keyHashes(key);
    let h1 = mix(k1, hashString(value, 0x9747b28c));
    h1 = mix(mix(mix(h1, num(mod)), num(create)), version);
    let h2 = mix(k2, hashString(value, 0x85ebca6b));
    h2 = mix(mix(mix(h2, num(create)), num(mod)), version ^ 0x3c6ef372);
    return { value, mod, create, version, h1, h2 };
  }

  private setKey(key: string, next: KeyState | undefined): void {
    const prev = this.keys.get(key);
    if (prev) {
      this.h1 ^= prev.h1;
      this.h2 ^= prev.h2;
    }
    if (next) {
      this.h1 ^= next.h1;
      this.h2 ^= next.h2;
      this.keys.set(key, next);
    } else this.keys.delete(key);
    this.undoKeys.push(key);
    this.undoPrev.push(prev);
  }

  /**
   * Applies `p` if the model allows it: returns null and leaves the state changed, or
   * returns why not (`explain`) / a constant and leaves the state as it was.
   */
  step(p: PreparedOperation, explain: boolean): string | null {
    const mark = this.mark();
    const why = this.apply(p, explain);
    if (why !== null) this.undo(mark);
    return why;
  }

  private apply(p: PreparedOperation, explain: boolean): string | null {
    const { op } = p;
    const response = p.ok ? op.response : undefined;
    const r = p.revision;
    const before = this.revision;
    // The revision any write of this operation gets.
    const writeRevision = Number.isNaN(before) ? r : before + 1;
    let changed = false;
    let requests: readonly KvRequest[];
    let results: readonly (Response | undefined)[] | undefined;
    const request = op.request;
    if (request.type === 'txn') {
      let held = true;
      for (const c of request.compare) {
        const outcome = this.compare(c);
        if (outcome === undefined) {
          held = response?.succeeded ?? false;
          break;
        }
        if (!outcome) {
          held = false;
          break;
        }
      }
      if (response?.succeeded !== undefined && response.succeeded !== held) {
        return explain
          ? `compare ${held ? 'holds' : 'fails'} but the txn says it ${response.succeeded ? 'succeeded' : 'failed'}`
          : REFUSED;
      }
      requests = held ? request.success : request.failure;
      results = response?.results;
    } else {
      requests = [request];
      results = response ? [response] : undefined;
    }
    for (let i = 0; i < requests.length; i += 1) {
      const q = requests[i] as KvRequest;
      const res = results?.[i];
      if (q.type === 'put') {
        const prev = this.keys.get(q.key);
        this.setKey(
          q.key,
          this.keyState(
            q.key,
            q.value,
            writeRevision,
            prev ? prev.create : writeRevision,
            prev ? prev.version + 1 : 1,
          ),
        );
        changed = true;
      } else if (q.type === 'delete') {
        const existed = this.keys.has(q.key);
        if (existed) {
          this.setKey(q.key, undefined);
          changed = true;
        }
        if (res?.deleted !== undefined && res.deleted !== (existed ? 1 : 0)) {
          return explain
            ? `deleted ${res.deleted} but ${q.key} ${existed ? 'existed' : 'was absent'}`
            : REFUSED;
        }
      } else if (res && res.kv !== undefined) {
        const why = this.checkRead(q.key, res.kv, explain);
        if (why !== null) return why;
      }
    }
    if (changed) this.revision = writeRevision;
    else if (Number.isNaN(before)) this.revision = r;
    if (!p.ok && !changed)
      return explain ? 'an indeterminate operation that changes nothing need not be placed' : REFUSED;
    if (p.allowed !== undefined && !Number.isNaN(this.revision) && !p.allowed.has(this.revision))
      return explain
        ? `the watch truth shows no change it could make at revision ${this.revision} (only at ${[...p.allowed].join(', ') || 'none'})`
        : REFUSED;
    if (!Number.isNaN(r) && !Number.isNaN(this.revision) && r !== this.revision) {
      return explain ? `returned revision ${r} but the store would be at ${this.revision}` : REFUSED;
    }
    return null;
  }

  private checkRead(key: string, kv: KeyValue | null, explain: boolean): string | null {
    const s = this.keys.get(key);
    if (kv === null)
      return s ? (explain ? `read ${key} as absent but ${this.describeKey(key)}` : REFUSED) : null;
    if (!s) return explain ? `read ${key}=${JSON.stringify(kv.value)} but ${key} is absent` : REFUSED;
    const mismatch =
      (kv.value !== undefined && kv.value !== s.value) ||
      (kv.version !== undefined && kv.version !== s.version) ||
      (this.checkRevisions &&
        ((kv.modRevision !== undefined && !Number.isNaN(s.mod) && kv.modRevision !== s.mod) ||
          (kv.createRevision !== undefined && !Number.isNaN(s.create) && kv.createRevision !== s.create)));
    if (!mismatch) return null;
    return explain
      ? `read ${key}=${JSON.stringify(kv.value)} (mod ${kv.modRevision ?? '?'}, version ${kv.version ?? '?'}) but ${this.describeKey(key)}`
      : REFUSED;
  }

  /** A compare's outcome; undefined when it compares an unknown revision. */
  private compare(c: Compare): boolean | undefined {
    const s = this.keys.get(c.key);
    let a: number | string;
    if (c.target === 'value') {
      // etcd: a compare on the value of an absent key fails.
      if (!s) return false;
      a = s.value;
    } else {
      a = !s ? 0 : c.target === 'version' ? s.version : c.target === 'mod' ? s.mod : s.create;
      if (typeof a === 'number' && Number.isNaN(a)) return undefined;
    }
    const b = c.value;
    switch (c.op) {
      case '=':
        return a === b;
      case '!=':
        return a !== b;
      case '<':
        return a < b;
      case '>':
        return a > b;
    }
  }
}

const rev = (n: number): string => (Number.isNaN(n) ? '?' : String(n));

/** Whether the operation may change the store (so, if indeterminate, be placed). */
export function mayWrite(op: HistoryOperation): boolean {
  const q = op.request;
  if (q.type === 'txn') return [...q.success, ...q.failure].some((x) => x.type !== 'get');
  return q.type !== 'get';
}

/** The keys an operation touches. */
export function keysOf(op: HistoryOperation): string[] {
  const q = op.request;
  if (q.type !== 'txn') return [q.key];
  return [
    ...new Set([
      ...q.compare.map((c) => c.key),
      ...q.success.map((x) => x.key),
      ...q.failure.map((x) => x.key),
    ]),
  ];
}

/**
 * An operation that returned revision r needs the store at r − 1 before it if it certainly
 * changed something (a put; a delete that deleted; a txn that took a branch with a put):
 * while it is not placed, no other operation may take the revision past r − 1. Otherwise
 * past r.
 */
export function certainlyBumps(op: HistoryOperation): boolean {
  const q = op.request;
  const r = op.response;
  if (q.type === 'put') return true;
  if (q.type === 'delete') return r?.deleted === 1;
  if (q.type === 'get' || r?.succeeded === undefined) return false;
  return (r.succeeded ? q.success : q.failure).some((x) => x.type === 'put');
}
