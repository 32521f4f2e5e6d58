import { keysOf } from './model.ts';
import { searchOne, type SearchOptions } from './search.ts';
import type { HistoryOperation, InitialState, Violation } from './types.ts';

/**
 * Is a history of etcd KV operations linearizable? Wing & Gong's search with Lowe's
 * just-in-time linearization and memoisation of (linearized set, state), as in porcupine
 * (github.com/anishathalye/porcupine, checker.go): call and return events in time order in
 * a linked list; walk it, and at each call try to linearize that operation now (the model
 * must accept it); if it does, and (linearized set, state) was not seen before, lift the
 * operation out of the list and start over from the head; on reaching a return event, the
 * operation it returns is not linearized although it has returned, so backtrack. The history
 * is linearizable when every acknowledged operation is placed.
 *
 * Indeterminate operations return at +∞ (Knossos' and porcupine's treatment): they may be
 * placed any time after their call, or never — the search succeeds once every acknowledged
 * operation is placed. They are kept out of the event list: at each return reached, those
 * called by then are tried (latest call first) after the acknowledged candidates. An
 * indeterminate operation that would change nothing (a delete of an absent key, a txn that
 * takes a branch without writes) is never placed: dropping it from any linearization leaves
 * a linearization (it constrains nothing else).
 *
 * Pruning by revision (sound): the store's revision never decreases, and an acknowledged
 * operation that returned header revision r must be placed when the revision, after it, is r.
 * So once the revision is past the smallest r among the acknowledged operations not yet placed,
 * that operation can never be placed: any step that takes the revision there is refused. An
 * operation that certainly bumped the revision (a put, a delete that deleted, a txn whose
 * branch taken puts) needs r − 1 before it, so its ceiling is r − 1. An indeterminate write
 * whose (unique) value was read back with mod revision m must have applied, at m: it is
 * pinned there, with ceiling m − 1 (see `pinnedRevisions`). So is one whose change the watch
 * truth shows at m (`appliedAt`, set by patch.ts); one the truth narrows to a few revisions
 * (`appliedAtOneOf`) is refused by the model anywhere else.
 * This is what keeps indeterminate writes from being tried everywhere: each can only be
 * placed where the acknowledged revisions leave a gap for it.
 *
 * Partitioning (sound only without revisions): linearizability is local (Herlihy & Wing), so
 * a history over independent objects is linearizable iff each object's sub-history is. etcd's
 * keys are not independent once revisions are observed: one global revision orders writes to
 * all keys, and a read's header revision says how many writes (to any key) precede it. So
 * with `checkRevisions` the whole history is searched as one (revisions make that search close
 * to linear); `partitionByKey` is allowed only with `checkRevisions: false` and when every
 * operation touches one key, and then checks values and versions per key but no revisions.
 *
 * Memo: the pair (linearized set, state) is stored as a 128-bit fingerprint — the XOR of a
 * random 64-bit value per placed operation (Zobrist hashing) and a 64-bit XOR of per-key state
 * hashes plus the revision. A memo hit only prunes, so a fingerprint collision can at worst
 * hide a linearization (a false violation, never a false "ok"); "ok" is only answered with a
 * linearization the model accepted step by step. Memory per memo entry is one short string,
 * not a copy of the set and state.
 *
 * This file: the entry point (input checks, partitions, describing a failure); the search
 * itself is in search.ts.
 */

export interface CheckOptions {
  /** The store before the history; default: empty, revision unknown until a response says. */
  readonly initial?: InitialState;
  /** Compare header, mod and create revisions (default true). */
  readonly checkRevisions?: boolean;
  /** Search each key's operations on their own (only with `checkRevisions: false`). */
  readonly partitionByKey?: boolean;
  /** Give up with "unknown" after this long (ms). Default 60 s. */
  readonly timeLimitMs?: number;
  /** Give up with "unknown" after this many model steps tried. Default unlimited. */
  readonly stepLimit?: number;
  /**
   * Benches only (the naive search, to show what pruning buys): without the memo, and without
   * the revision pruning (revisions are still checked by the model). Default true.
   */
  readonly memo?: boolean;
  readonly revisionPruning?: boolean;
  /** How many operations of the longest linearizable prefix to keep for the report (default 20). */
  readonly prefixTail?: number;
}

export interface LinearizabilityResult {
  readonly status: 'ok' | 'failed' | 'unknown';
  /** ok: one linearization (operation ids in order; indeterminate ones that were never placed are left out). */
  readonly linearization?: readonly number[];
  readonly violation?: Violation;
  /** unknown: why. */
  readonly reason?: string;
  readonly operations: number;
  readonly steps: number;
  readonly memoEntries: number;
  readonly elapsedMs: number;
  readonly partitions: number;
}

/** Checks one history. Pure: no I/O; the only clock read is for the time limit. */
export function checkLinearizability(
  history: readonly HistoryOperation[],
  options: CheckOptions = {},
): LinearizabilityResult {
  const started = performance.now();
  const checkRevisions = options.checkRevisions ?? true;
  const deadline = started + (options.timeLimitMs ?? 60_000);
  const unknown = (reason: string): LinearizabilityResult => ({
    status: 'unknown',
    reason,
    operations: history.length,
    steps: 0,
    memoEntries: 0,
    elapsedMs: performance.now() - started,
    partitions: 0,
  });
  for (const op of history) {
    if (op.status === 'ok' && op.response === undefined)
      return unknown(`operation ${op.id} is ok without a response`);
    if (!(op.call <= op.return)) return unknown(`operation ${op.id} returns before its call`);
  }
  if (!checkRevisions) {
    const modCompare = history.find(
      (op) =>
        op.request.type === 'txn' &&
        op.request.compare.some((c) => c.target === 'mod' || c.target === 'create'),
    );
    if (modCompare)
      return unknown(`operation ${modCompare.id} compares a revision, which needs checkRevisions`);
  }
  let partitions: HistoryOperation[][] = [[...history]];
  if (options.partitionByKey) {
    if (checkRevisions)
      return unknown(
        'partitionByKey is sound only with checkRevisions: false (one revision couples all keys)',
      );
    const byKey = new Map<string, HistoryOperation[]>();
    for (const op of history) {
      const keys = keysOf(op);
      if (keys.length !== 1)
        return unknown(`operation ${op.id} touches ${keys.length} keys: cannot partition by key`);
      const key = keys[0] as string;
      const list = byKey.get(key) ?? [];
      list.push(op);
      byKey.set(key, list);
    }
    partitions = [...byKey.values()];
  }
  let steps = 0;
  let memoEntries = 0;
  const linearization: number[] = [];
  for (const part of partitions) {
    const initial =
      options.initial && options.partitionByKey ? restrictInitial(options.initial, part) : options.initial;
    const search: SearchOptions = {
      initial,
      checkRevisions,
      deadline,
      stepLimit: (options.stepLimit ?? Infinity) - steps,
      prefixTail: options.prefixTail ?? 20,
      memo: options.memo ?? true,
      revisionPruning: options.revisionPruning ?? true,
    };
    let result = searchOne(part, search);
    if (result.status === 'failed' && result.furthest !== undefined) {
      // The same search again, stopping where the first got furthest, to describe it there.
      const again = searchOne(part, {
        ...search,
        deadline: Infinity,
        stepLimit: Infinity,
        describeAt: result.furthest,
      });
      result = { ...result, ...(again.violation ? { violation: again.violation } : {}) };
    }
    steps += result.steps;
    memoEntries += result.memoEntries;
    const common = {
      operations: history.length,
      steps,
      memoEntries,
      elapsedMs: performance.now() - started,
      partitions: partitions.length,
    };
    if (result.status === 'failed')
      return { status: 'failed', violation: result.violation as Violation, ...common };
    if (result.status === 'unknown')
      return { status: 'unknown', reason: result.reason ?? 'gave up', ...common };
    linearization.push(...(result.linearization ?? []));
  }
  return {
    status: 'ok',
    linearization,
    operations: history.length,
    steps,
    memoEntries,
    elapsedMs: performance.now() - started,
    partitions: partitions.length,
  };
}

function restrictInitial(initial: InitialState, part: readonly HistoryOperation[]): InitialState {
  const keys = new Set(part.flatMap(keysOf));
  const kvs = new Map([...(initial.kvs ?? [])].filter(([k]) => keys.has(k)));
  return { revision: initial.revision, kvs };
}
