import { covers, inRange } from './key-range.ts';
import type { KeyRange, KvEvent, WatcherHistory, WriteTruth } from './types.ts';

/**
 * The truth as the watchers saw it: the union of the events every watcher received over a key
 * space, as etcd's robustness tests take it (tests/robustness/validate/patch_history.go). It
 * is independent of the clients' history (no revision here is inferred from a response), so it
 * can resolve the history's indeterminate writes (linearizability/patch.ts).
 *
 * Only watchers whose range covers the whole key space, without filters, are used: each of
 * them is sent every change to it. A revision is known when some watcher received changes at
 * it and no two watchers disagree there (type or value of a key). A revision no watcher
 * received anything at is unknown: either every watcher missed it, or it changed only keys
 * outside the key space — the two cannot be told apart from the streams. So the truth is
 * complete exactly over its known revisions only if every revision changed something in the
 * key space, which holds for an experiment's cluster (every writer writes under its prefix);
 * elsewhere the gaps are merely unknown, never taken for "nothing happened".
 * A revision where one watcher received only some of a txn's changes (an atomicity break no
 * other watcher fills) would be known with changes missing: the watch check reports that
 * ('atomic', 'reliable'), and the lab does not use this truth then.
 */
export interface ObservedTruth {
  readonly truth: WriteTruth;
  /** Watchers whose events it holds. */
  readonly watchers: number;
  /** Revisions in range at which watchers disagreed (left unknown). */
  readonly conflicts: readonly number[];
}

const sameChange = (a: KvEvent, b: KvEvent): boolean =>
  a.type === b.type &&
  (a.type === 'delete' || a.value === undefined || b.value === undefined || a.value === b.value);

export function truthFromWatchers(watchers: readonly WatcherHistory[], keySpace: KeyRange): ObservedTruth {
  const used = watchers.filter(
    (w) => (w.request.filters ?? []).length === 0 && covers(w.request.range, keySpace),
  );
  const byRevision = new Map<number, Map<string, KvEvent>>();
  const conflicts = new Set<number>();
  let from = Infinity;
  let to = -Infinity;
  for (const w of used) {
    const asked = w.request.startRevision;
    const created = w.responses.find((r) => r.type === 'created');
    const start = asked === 'now' ? (created?.type === 'created' ? created.revision + 1 : undefined) : asked;
    let received = false;
    for (const resp of w.responses) {
      if (resp.type !== 'events') continue;
      for (const e of resp.events) {
        if (!inRange(keySpace, e.key)) continue;
        received = true;
        to = Math.max(to, e.revision);
        const at = byRevision.get(e.revision) ?? new Map<string, KvEvent>();
        byRevision.set(e.revision, at);
        const before = at.get(e.key);
        if (before === undefined) at.set(e.key, e);
        else if (!sameChange(before, e)) conflicts.add(e.revision);
      }
    }
    // A watcher that received nothing says nothing about where the truth starts.
    if (received) from = Math.min(from, start ?? Infinity);
  }
  if (!Number.isFinite(to)) {
    return {
      truth: { events: [], fromRevision: 1, toRevision: 0, unknownRevisions: [], keySpace },
      watchers: used.length,
      conflicts: [],
    };
  }
  // A watcher whose start is not known (a 'now' watch without its created response): from its first event.
  if (!Number.isFinite(from)) from = Math.min(...byRevision.keys());
  const events: KvEvent[] = [];
  const unknown: number[] = [];
  for (let r = from; r <= to; r += 1) {
    const at = byRevision.get(r);
    if (at === undefined || conflicts.has(r)) unknown.push(r);
    else events.push(...at.values());
  }
  return {
    truth: { events, fromRevision: from, toRevision: to, unknownRevisions: unknown, keySpace },
    watchers: used.length,
    conflicts: [...conflicts].sort((a, b) => a - b),
  };
}
