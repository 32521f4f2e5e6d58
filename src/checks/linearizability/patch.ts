import { inRange } from '../watch/key-range.ts';
import type { WriteTruth } from '../watch/types.ts';
import { certainlyBumps, mayWrite } from './model.ts';
import type { HistoryOperation, KvRequest } from './types.ts';

/**
 * Resolves indeterminate writes with the truth of what etcd applied (the watchers' events,
 * watch/observed.ts), as etcd's robustness tests patch their histories
 * (tests/robustness/validate/patch_history.go): an operation whose outcome the client never
 * learnt, but whose change shows in the truth, applied at that revision (`appliedAt`); one whose
 * change cannot be anywhere the history could see is left out.
 *
 * Why this cannot hide a violation: both only restrict indeterminate operations. A pinned one
 * may be placed at its revision or nowhere, instead of anywhere after its call; one left out is
 * one never placed, which the checker already allows. Every linearization of the patched
 * history is one of the original, so "linearizable" stays true of the original. A wrong truth
 * can only make the checker refuse a history it would accept: a false violation, never a false
 * "ok" — hence the care below to decide only what the truth decides.
 *
 * What the truth decides (`lb`: the highest revision an acknowledged operation returned before
 * the operation was called — it cannot apply at or below it; `H`: the highest revision the
 * history observed, header or mod revision; a change applied above H is after everything the
 * history saw, so leaving it out is the same as placing it last):
 * - a put, or a txn branch, writing a value no other operation writes (the lab's values are
 *   unique per write): its put in the truth at revision r says it applied, at r; no such put,
 *   with the truth complete over (lb, H] and the key inside its key space, says it did not
 *   (or applied above H). A txn is decided when each branch that writes holds such a put:
 *   a branch without writes changes nothing (a failed compare is a no-op);
 * - a delete of key k: deletes carry no value, so a delete of k in the truth at revision r is
 *   attributed only when exactly one operation can have made it: not an acknowledged write
 *   that owns r (its header revision, and it certainly changed something — one revision, one
 *   write), not one already pinned, and exactly one indeterminate delete of k called before
 *   r could be reached (plus no acknowledged write of k whose outcome does not say whether it
 *   took r). Repeated until nothing changes. A delete with no unattributed delete of k in
 *   (lb, H], the truth complete there, is left out: it deleted nothing the history could see
 *   (it did not apply, or found k absent — a no-op, which the checker never places anyway).
 * Everything else stays indeterminate: a delete where several could have made the change, a
 * write of a value written twice, a txn with a delete-only branch, keys outside the truth's key
 * space, a window with revisions the truth does not know.
 */
export interface PatchOutcome {
  readonly history: HistoryOperation[];
  /** Indeterminate writes the truth shows applied: pinned to their revision. */
  readonly applied: number;
  /** Indeterminate writes the truth shows changed nothing the history could see: left out. */
  readonly notApplied: number;
  /** Indeterminate deletes narrowed to the few revisions where the truth shows a delete they could have made. */
  readonly narrowed: number;
  /** Indeterminate writes left as they were. */
  readonly undecided: number;
}

export interface PatchOptions {
  /** The store's revision before the history's first call (a floor for `lb`); default: unknown. */
  readonly initialRevision?: number;
}

const kv = (key: string, value: string): string => `${key}\0${value}`;
const writes = (qs: readonly KvRequest[]): KvRequest[] => qs.filter((q) => q.type !== 'get');

/** The keys an operation may write, in any branch. */
function writtenKeys(op: HistoryOperation): string[] {
  const q = op.request;
  if (q.type === 'txn') return writes([...q.success, ...q.failure]).map((w) => w.key);
  return q.type === 'get' ? [] : [q.key];
}

export function patchWithTruth(
  history: readonly HistoryOperation[],
  truth: WriteTruth,
  options: PatchOptions = {},
): PatchOutcome {
  const pending = history.filter((op) => op.status === 'indeterminate' && mayWrite(op));
  if (pending.length === 0)
    return { history: [...history], applied: 0, notApplied: 0, narrowed: 0, undecided: 0 };

  // The truth: where each (key, value) was put, where each key was deleted, which revisions are known.
  const putAt = new Map<string, number[]>();
  const deletedAt = new Map<string, number[]>();
  for (const e of truth.events) {
    if (e.type === 'put' && e.value !== undefined) {
      const k = kv(e.key, e.value);
      putAt.set(k, [...(putAt.get(k) ?? []), e.revision]);
    } else if (e.type === 'delete') deletedAt.set(e.key, [...(deletedAt.get(e.key) ?? []), e.revision]);
  }
  const unknown = [...truth.unknownRevisions].sort((a, b) => a - b);
  /** Every revision in (low, high] known. */
  const complete = (low: number, high: number): boolean => {
    if (high <= low) return true;
    if (low + 1 < truth.fromRevision || high > truth.toRevision) return false;
    return !unknown.some((r) => r > low && r <= high);
  };
  const inSpace = (key: string): boolean => truth.keySpace === undefined || inRange(truth.keySpace, key);

  // How many operations put each (key, value); H; the acknowledged revisions by return time.
  const writers = new Map<string, number>();
  let highest = options.initialRevision ?? -Infinity;
  const returned: { at: number; revision: number }[] = [];
  for (const op of history) {
    const q = op.request;
    const puts = q.type === 'txn' ? [...q.success, ...q.failure] : [q];
    for (const p of puts)
      if (p.type === 'put') writers.set(kv(p.key, p.value), (writers.get(kv(p.key, p.value)) ?? 0) + 1);
    const r = op.status === 'ok' ? op.response : undefined;
    if (r === undefined) continue;
    const seen = [r.revision, r.kv?.modRevision, ...(r.results ?? []).map((x) => x.kv?.modRevision)];
    for (const s of seen) if (s !== undefined) highest = Math.max(highest, s);
    if (r.revision !== undefined) returned.push({ at: op.return, revision: r.revision });
  }
  returned.sort((a, b) => a.at - b.at);
  const prefixMax: number[] = [];
  for (const x of returned)
    prefixMax.push(Math.max(prefixMax[prefixMax.length - 1] ?? -Infinity, x.revision));
  const lowerBound = (op: HistoryOperation): number => {
    let lo = 0;
    let hi = returned.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((returned[mid] as { at: number }).at < op.call) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(options.initialRevision ?? -Infinity, prefixMax[lo - 1] ?? -Infinity);
  };
  const isUniquePut = (q: KvRequest): q is Extract<KvRequest, { type: 'put' }> =>
    q.type === 'put' && writers.get(kv(q.key, q.value)) === 1;

  const appliedAt = new Map<HistoryOperation, number>();
  const notApplied = new Set<HistoryOperation>();
  const owned = new Set<number>();
  for (const op of history) {
    if (op.status === 'ok' && op.response?.revision !== undefined && certainlyBumps(op))
      owned.add(op.response.revision);
  }

  // Writes of unique values: their put in the truth, or its certain absence.
  for (const op of pending) {
    const q = op.request;
    if (q.type === 'delete') continue;
    const branches = q.type === 'txn' ? [q.success, q.failure] : [[q]];
    let decidable = true;
    const found = new Set<number>();
    let foundBranches = 0;
    for (const branch of branches) {
      const w = writes(branch);
      if (w.length === 0) continue;
      const unique = w.filter(isUniquePut);
      if (unique.length === 0) {
        decidable = false;
        continue;
      }
      const revisions = unique.flatMap((p) => putAt.get(kv(p.key, p.value)) ?? []);
      if (revisions.length > 0) foundBranches += 1;
      for (const r of revisions) found.add(r);
      if (!unique.every((p) => inSpace(p.key))) decidable = false;
    }
    if (found.size === 1 && foundBranches === 1) {
      const r = [...found][0] as number;
      appliedAt.set(op, r);
      owned.add(r);
    } else if (found.size === 0 && decidable && complete(lowerBound(op), highest)) notApplied.add(op);
  }

  // Deletes: attributed one revision at a time while exactly one operation can have made it.
  const deletes = pending.filter((op) => op.request.type === 'delete' && inSpace(op.request.key));
  const mayAlsoDelete = (key: string, r: number): boolean =>
    history.some(
      (op) =>
        !appliedAt.has(op) &&
        !notApplied.has(op) &&
        op.request.type !== 'delete' &&
        writtenKeys(op).includes(key) &&
        (op.status === 'ok'
          ? !certainlyBumps(op) && (op.response?.revision ?? r) === r
          : op.request.type === 'txn' &&
            writes([...op.request.success, ...op.request.failure]).some(
              (w) => w.type === 'delete' && w.key === key,
            ) &&
            lowerBound(op) < r),
    ) ||
    history.some(
      (op) =>
        op.status === 'ok' &&
        op.request.type === 'delete' &&
        op.request.key === key &&
        !certainlyBumps(op) &&
        op.response?.deleted === undefined &&
        (op.response?.revision ?? r) === r,
    );
  const unattributed = (key: string): number[] => (deletedAt.get(key) ?? []).filter((r) => !owned.has(r));
  for (let changed = true; changed;) {
    changed = false;
    for (const [key] of deletedAt) {
      for (const r of unattributed(key)) {
        const candidates = deletes.filter(
          (op) => (op.request as { key: string }).key === key && !appliedAt.has(op) && lowerBound(op) < r,
        );
        const only = candidates[0];
        if (candidates.length === 1 && only !== undefined && !mayAlsoDelete(key, r)) {
          appliedAt.set(only, r);
          owned.add(r);
          changed = true;
        }
      }
    }
  }
  // The rest: with the truth complete over (lb, H], a delete that deleted something the history
  // saw did so at one of the unattributed deletes of its key there; none: it is left out.
  const oneOf = new Map<HistoryOperation, number[]>();
  for (const op of deletes) {
    if (appliedAt.has(op)) continue;
    const lb = lowerBound(op);
    const key = (op.request as { key: string }).key;
    if (!complete(lb, highest)) continue;
    const possible = unattributed(key).filter((r) => r > lb && r <= highest);
    if (possible.length === 0) notApplied.add(op);
    else oneOf.set(op, possible);
  }

  const patched: HistoryOperation[] = [];
  for (const op of history) {
    if (notApplied.has(op)) continue;
    const r = appliedAt.get(op);
    const possible = oneOf.get(op);
    patched.push(
      r !== undefined ? { ...op, appliedAt: r } : possible ? { ...op, appliedAtOneOf: possible } : op,
    );
  }
  return {
    history: patched,
    applied: appliedAt.size,
    notApplied: notApplied.size,
    narrowed: oneOf.size,
    undecided: pending.length - appliedAt.size - notApplied.size - oneOf.size,
  };
}
