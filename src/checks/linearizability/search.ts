import { certainlyBumps, KvModel, keysOf, mayWrite, type PreparedOperation } from './model.ts';
import type { HistoryOperation, InitialState, Violation } from './types.ts';

/**
 * The search over one history (or one key's part of it): the linked list of call and return
 * events, the memo, revision pruning and pins, and the description of where it got furthest.
 * What it does and why it is sound: check.ts.
 */

export interface SearchResult {
  status: 'ok' | 'failed' | 'unknown';
  linearization?: number[];
  violation?: Violation;
  reason?: string;
  /** failed, before it was described: where to describe it. */
  furthest?: number;
  steps: number;
  memoEntries: number;
}

export interface SearchOptions {
  initial: InitialState | undefined;
  checkRevisions: boolean;
  deadline: number;
  stepLimit: number;
  prefixTail: number;
  memo: boolean;
  revisionPruning: boolean;
  describeAt?: number;
}

export function searchOne(history: readonly HistoryOperation[], o: SearchOptions): SearchResult {
  // Indeterminate reads constrain nothing.
  const kept = history.filter((op) => op.status === 'ok' || mayWrite(op));
  const pins = o.checkRevisions ? pinnedRevisions(kept) : new Map<HistoryOperation, number>();
  const ops: PreparedOperation[] = [...kept]
    .sort((a, b) => a.call - b.call || a.id - b.id)
    .map((op, index) => {
      const revision = !o.checkRevisions
        ? NaN
        : op.status === 'ok'
          ? (op.response?.revision ?? NaN)
          : (op.appliedAt ?? pins.get(op) ?? NaN);
      // An indeterminate operation has a revision only when pinned: it applied there, changing
      // something (its value was read back, or the watch truth shows its change), so it bumps.
      const bumps = op.status !== 'ok' || certainlyBumps(op);
      const ceiling = Number.isNaN(revision) ? NaN : bumps ? revision - 1 : revision;
      const allowed =
        o.checkRevisions && op.status !== 'ok' && op.appliedAtOneOf !== undefined
          ? { allowed: new Set(op.appliedAtOneOf) }
          : {};
      return { index, op, ok: op.status === 'ok', revision, ceiling, ...allowed };
    });
  const n = ops.length;

  // Events: node 0 head, 1..2n events, 2n+1 tail. Event node for op i: call 1+2i, return 2+2i.
  const order: number[] = [];
  for (let i = 0; i < n; i += 1) if (ops[i]?.ok) order.push(1 + 2 * i, 2 + 2 * i);
  const time = (node: number): number => {
    const p = ops[(node - 1) >> 1] as PreparedOperation;
    return node % 2 === 1 ? p.op.call : p.op.return;
  };
  // Time order; at equal times calls first (operations touching an instant are concurrent).
  order.sort((a, b) => time(a) - time(b) || (b % 2) - (a % 2) || a - b);
  const next = new Int32Array(2 * n + 2);
  const prev = new Int32Array(2 * n + 2);
  const tail = 2 * n + 1;
  let last = 0;
  for (const node of order) {
    next[last] = node;
    prev[node] = last;
    last = node;
  }
  next[last] = tail;
  prev[tail] = last;
  const lift = (i: number): void => {
    for (const node of [1 + 2 * i, 2 + 2 * i]) {
      next[prev[node] as number] = next[node] as number;
      prev[next[node] as number] = prev[node] as number;
    }
  };
  const unlift = (i: number): void => {
    for (const node of [2 + 2 * i, 1 + 2 * i]) {
      next[prev[node] as number] = node;
      prev[next[node] as number] = node;
    }
  };

  // The lowest ceiling among operations with a known revision not yet placed: the highest
  // revision the store may reach while they wait (see `certainlyBumps`).
  const revs = [...new Set(ops.filter((p) => !Number.isNaN(p.ceiling)).map((p) => p.ceiling))].sort(
    (a, b) => a - b,
  );
  const revIndex = new Map(revs.map((r, i) => [r, i]));
  const pending = new Int32Array(revs.length + 1);
  for (const p of ops)
    if (!Number.isNaN(p.ceiling)) (pending[revIndex.get(p.ceiling) as number] as number) += 1;
  let minRev = 0;
  const advanceMin = (): void => {
    while (minRev < revs.length && pending[minRev] === 0) minRev += 1;
  };
  advanceMin();
  const minPending = (): number => (minRev < revs.length ? (revs[minRev] as number) : Infinity);

  // Zobrist values per operation.
  let seed = 0x12345678;
  const rand = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) | 0;
  };
  const z1 = new Int32Array(n).map(() => rand());
  const z2 = new Int32Array(n).map(() => rand());
  let l1 = 0;
  let l2 = 0;

  const model = new KvModel(o.initial, o.checkRevisions);
  const memo = new Set<string>();
  const stack: { i: number; mark: readonly [number, number, number, number]; node: number; k: number }[] = [];
  let steps = 0;
  // Position (in `order`) of the furthest return the search got stuck at. Describing it there
  // would cost O(n) each time it moves on, so a failed search is run again (it is
  // deterministic) to stop and describe at that point.
  let best = -1;
  const position = new Int32Array(2 * n + 2);
  order.forEach((node, k) => (position[node] = k));
  let blockingRevision = NaN;
  const placed = new Uint8Array(n);
  const byRevision = new Map<number, PreparedOperation[]>();
  for (const p of ops) {
    if (!Number.isNaN(p.ceiling)) byRevision.set(p.ceiling, [...(byRevision.get(p.ceiling) ?? []), p]);
  }

  const placeable = (p: PreparedOperation): boolean => {
    // Place p (already stepped): the revision must not pass an acknowledged one still to place.
    if (!Number.isNaN(p.ceiling)) (pending[revIndex.get(p.ceiling) as number] as number) -= 1;
    advanceMin();
    const okay = !o.revisionPruning || Number.isNaN(model.revision) || model.revision <= minPending();
    if (!okay) {
      blockingRevision = minPending();
      unplace(p);
    }
    return okay;
  };
  const unplace = (p: PreparedOperation): void => {
    if (Number.isNaN(p.ceiling)) return;
    const k = revIndex.get(p.ceiling) as number;
    (pending[k] as number) += 1;
    if (k < minRev) minRev = k;
  };

  // Indeterminate operations are not in the event list: at each return reached, the ones
  // called by then are tried, latest call first (an errored write that applied mostly did
  // so soon after its call), after the acknowledged operations called before that return.
  const indeterminate = ops.filter((p) => !p.ok).map((p) => p.index);
  const calledBy = (t: number): number => {
    // The last index into `indeterminate` whose call is at or before t; -1: none.
    let lo = 0;
    let hi = indeterminate.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((ops[indeterminate[mid] as number] as PreparedOperation).op.call <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  };
  // Tries to place operation i now; true if it was (and pushed with where to resume).
  const tryPlace = (i: number, resumeNode: number, resumeK: number): boolean => {
    const p = ops[i] as PreparedOperation;
    steps += 1;
    const mark = model.mark();
    if (model.step(p, false) === null) {
      if (placeable(p)) {
        const [s1, s2] = model.fingerprint();
        const key = `${l1 ^ (z1[i] as number)},${l2 ^ (z2[i] as number)},${s1},${s2}`;
        if (!memo.has(key)) {
          if (o.memo) memo.add(key);
          l1 ^= z1[i] as number;
          l2 ^= z2[i] as number;
          stack.push({ i, mark, node: resumeNode, k: resumeK });
          placed[i] = 1;
          if (p.ok) lift(i);
          return true;
        }
        unplace(p);
      }
      model.undo(mark);
    }
    return false;
  };

  let node = next[0] as number;
  let k = -1; // at a return: the next index into `indeterminate` to try, downwards (-1: arriving)
  let arriving = true;
  while (node !== tail) {
    if ((steps & 4095) === 0 && performance.now() > o.deadline) {
      return { status: 'unknown', reason: 'time limit', steps, memoEntries: memo.size };
    }
    if (steps >= o.stepLimit)
      return { status: 'unknown', reason: 'step limit', steps, memoEntries: memo.size };
    const i = (node - 1) >> 1;
    const p = ops[i] as PreparedOperation;
    if (node % 2 === 1) {
      if (tryPlace(i, node, -1)) {
        node = next[0] as number;
        arriving = true;
      } else node = next[node] as number;
      continue;
    }
    // The first return in the list: p has returned and is not placed.
    if (arriving) {
      arriving = false;
      if (position[node] === o.describeAt) {
        return { status: 'failed', violation: describe(p, node), steps, memoEntries: memo.size };
      }
      if ((position[node] as number) > best) best = position[node] as number;
      k = calledBy(p.op.return);
    }
    let placedOne = false;
    while (k >= 0) {
      const j = indeterminate[k] as number;
      k -= 1;
      if (placed[j] === 0 && tryPlace(j, node, k)) {
        placedOne = true;
        break;
      }
    }
    if (placedOne) {
      node = next[0] as number;
      arriving = true;
      continue;
    }
    const top = stack.pop();
    if (!top) return { status: 'failed', furthest: best, steps, memoEntries: memo.size };
    const q = ops[top.i] as PreparedOperation;
    placed[top.i] = 0;
    model.undo(top.mark);
    unplace(q);
    l1 ^= z1[top.i] as number;
    l2 ^= z2[top.i] as number;
    if (q.ok) {
      // Back to the scan after its call, in the state before it: the return it reaches is
      // arrived at afresh (its indeterminate candidates not tried yet in this state).
      unlift(top.i);
      node = next[top.node] as number;
      arriving = true;
    } else {
      node = top.node;
      k = top.k;
    }
  }
  return {
    status: 'ok',
    linearization: stack.map((s) => (ops[s.i] as PreparedOperation).op.id),
    steps,
    memoEntries: memo.size,
  };

  function describe(stuck: PreparedOperation, returnNode: number): Violation {
    const candidates: { op: HistoryOperation; refused: string }[] = [];
    const blockers = new Set<HistoryOperation>();
    for (let c = next[0] as number; c !== returnNode && c !== tail; c = next[c] as number) {
      if (c % 2 === 1) explainCandidate(ops[(c - 1) >> 1] as PreparedOperation);
    }
    for (let j = calledBy(stuck.op.return); j >= 0; j -= 1) {
      const i = indeterminate[j] as number;
      if (placed[i] === 0) explainCandidate(ops[i] as PreparedOperation);
    }
    function explainCandidate(cp: PreparedOperation): void {
      const mark = model.mark();
      let refused = model.step(cp, true);
      if (refused === null) {
        if (placeable(cp)) {
          unplace(cp);
          refused = 'the model accepts it here; the branches after it led nowhere';
        } else {
          const blocker = (byRevision.get(blockingRevision) ?? []).find(
            (b) => b !== cp && placed[b.index] === 0,
          );
          if (blocker) blockers.add(blocker.op);
          refused = `the revision would reach ${model.revision}, past ${blockingRevision}, where ${blocker ? `#${blocker.op.id}` : 'an operation'} still to place needs it`;
        }
      }
      model.undo(mark);
      candidates.push({ op: cp.op, refused });
    }
    const prefix = stack.map((s) => (ops[s.i] as PreparedOperation).op);
    const involved = new Set([stuck.op, ...candidates.map((c) => c.op), ...blockers]);
    const from = Math.min(...[...involved].map((op) => op.call));
    const window = kept.filter(
      (op) => involved.has(op) || (op.status === 'ok' && op.call <= stuck.op.return && op.return >= from),
    );
    const keys = new Set([...involved].flatMap(keysOf));
    return {
      stuck: stuck.op,
      prefixLength: prefix.length,
      prefixTail: prefix.slice(-o.prefixTail),
      state: [...keys].sort().map((k) => model.describeKey(k)),
      revision: Number.isNaN(model.revision) ? null : model.revision,
      candidates,
      blockers: [...blockers],
      window: [...new Set([...prefix.slice(-o.prefixTail), ...window])].sort(
        (a, b) => a.call - b.call || a.id - b.id,
      ),
    };
  }
}

/**
 * Indeterminate writes whose value was read back: where a value is written by one operation
 * only (the lab's workloads write unique values), a read of it with mod revision m says that
 * operation applied, at revision m. Such an operation is placed only there, and nothing may
 * take the revision past m − 1 before it.
 */
function pinnedRevisions(history: readonly HistoryOperation[]): Map<HistoryOperation, number> {
  const writers = new Map<string, HistoryOperation | null>();
  const puts = (op: HistoryOperation) =>
    op.request.type === 'txn'
      ? [...op.request.success, ...op.request.failure].filter((x) => x.type === 'put')
      : op.request.type === 'put'
        ? [op.request]
        : [];
  for (const op of history) {
    for (const put of puts(op)) {
      const k = `${put.key}\u0000${put.value}`;
      writers.set(k, writers.has(k) ? null : op);
    }
  }
  const pins = new Map<HistoryOperation, number>();
  for (const op of history) {
    if (op.status !== 'ok') continue;
    const q = op.request;
    const reads =
      q.type === 'get'
        ? [{ key: q.key, kv: op.response?.kv }]
        : q.type === 'txn' && op.response?.succeeded !== undefined
          ? (op.response.succeeded ? q.success : q.failure).map((x, i) => ({
              key: x.key,
              kv: x.type === 'get' ? op.response?.results?.[i]?.kv : undefined,
            }))
          : [];
    for (const { key, kv } of reads) {
      if (!kv || kv.value === undefined || kv.modRevision === undefined) continue;
      const writer = writers.get(`${key}\u0000${kv.value}`);
      // A conflicting second pin leaves the first: the model will refuse one of the reads.
      if (writer && writer.status === 'indeterminate' && !pins.has(writer)) pins.set(writer, kv.modRevision);
    }
  }
  return pins;
}
