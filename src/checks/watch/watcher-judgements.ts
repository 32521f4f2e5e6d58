import type { Blame } from './check-types.ts';
import { eventId } from './truth-index.ts';
import type { Guarantee, KvEvent } from './types.ts';
import { eventText, SERVER, type WatcherScope } from './watcher-scope.ts';
import type { WalkState } from './watcher-walk.ts';

/**
 * The second half of checking one watcher, once its walk (watcher-walk.ts) is over: what needs
 * the whole stream — changes never delivered (reliable, and bookmarkable when a progress
 * notification had covered them), and where each stream began (resumable) — with who is to
 * blame for each.
 */
export function judgeAfterWalk(scope: WatcherScope, state: WalkState): void {
  const { w, index, truth, truthCovers, matches, violation, unknownBecause, counts } = scope;
  const { segments, delivered, newRevisions, lastNewRevision, lastProgress, progress, compactions, start } =
    state;
  // The range judged for reliability: from the start to the last revision it was told about.
  const from = start ?? newRevisions[0] ?? null;
  const to = Math.max(lastNewRevision ?? -Infinity, lastProgress);
  if (start === null)
    unknownBecause(
      'resumable',
      `watcher ${w.id}: a watch from 'now' without a created response: where it started is not known`,
    );
  if (from === null || !Number.isFinite(to)) return;

  const needsTruth = (g: Guarantee, low: number, high: number, what: string): boolean => {
    if (!truthCovers) {
      unknownBecause(g, `watcher ${w.id}: the truth does not cover its keys`);
      return false;
    }
    if (!index.knows(low, high)) {
      unknownBecause(
        g,
        `watcher ${w.id}: ${what} spans revisions the truth does not know (${index.unknownIn(low, high)})`,
      );
      return false;
    }
    return true;
  };

  // Matching changes of the truth in [from, to].
  const expected = truth.events.filter((e) => e.revision >= from && e.revision <= to && matches(e));
  counts.eventsExpected += expected.length;
  const excused = (r: number): boolean => compactions.some((c) => r >= c.from && r < c.below);
  const sortedNew = [...newRevisions].sort((a, b) => a - b);
  const neighbours = (r: number): string => {
    let lo = 0;
    let hi = sortedNew.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sortedNew[mid] as number) < r) lo = mid + 1;
      else hi = mid;
    }
    const before = sortedNew[lo - 1];
    const after = sortedNew.find((x, k) => k >= lo && x > r);
    return `delivered ${before !== undefined ? `up to ${before}` : 'nothing before'}, then ${after !== undefined ? `from ${after}` : 'nothing after'}`;
  };
  /**
   * Who lost a change at r no stream delivered. The reconnects in its seam (after the last event
   * before r, before the first new one after it) were each a request; the last of them is what
   * the library asked for in the end, and the stream that delivered the events after r. Earlier
   * ones were cut before they delivered anything (a member killed again, say), so what they were
   * asked for does not decide it; they are named in the reason.
   */
  const missingBlame = (r: number): Blame => {
    const seam = segments.flatMap((seg, k) => {
      const rc = seg.reconnect;
      if (!rc) return [];
      const after = seg.firstNewRevision ?? Infinity;
      if (!((rc.lastNewRevision ?? from - 1) < r && r < after)) return [];
      return [{ rc, endedAtMs: segments[k + 1]?.reconnect?.atMs ?? null }];
    });
    const last = seam.at(-1);
    if (last === undefined) return { ...SERVER, why: 'not sent on any stream' };
    const { rc } = last;
    const reconnect = {
      atMs: rc.atMs,
      resumedFrom: rc.resumedFrom,
      lastDeliveredRevision: rc.lastNewRevision,
    };
    const earlier = seam.slice(0, -1).filter((s) => s.rc.resumedFrom !== null && s.rc.resumedFrom <= r);
    const cutShort =
      earlier.length === 0
        ? ''
        : `; ${earlier.length} earlier ${earlier.length === 1 ? 'stream' : 'streams'} in the seam asked from revision ${earlier[0]?.rc.resumedFrom ?? '?'} but ${earlier.length === 1 ? 'was' : 'were'} cut before delivering anything (the first after ${Math.round((earlier[0]?.endedAtMs ?? rc.atMs) - (earlier[0]?.rc.atMs ?? rc.atMs))} ms)`;
    if (rc.resumedFrom === null)
      return {
        by: 'client-library',
        confirmed: false,
        reconnect,
        why: `missing exactly around a reconnect whose resume revision was not recorded${cutShort}`,
      };
    if (rc.resumedFrom > r && rc.coveredBefore !== null && r <= rc.coveredBefore)
      return {
        ...SERVER,
        reconnect,
        why: `missing before the reconnect already: the watcher had been told about revision ${rc.coveredBefore}, and the library resumed after that as it should`,
      };
    if (rc.resumedFrom > r)
      return {
        by: 'client-library',
        confirmed: true,
        reconnect,
        why: `the reconnect resumed from revision ${rc.resumedFrom}, after this change (last delivered before it: ${rc.lastNewRevision ?? 'none'}; told about up to: ${rc.coveredBefore ?? 'none'})${cutShort}`,
      };
    return {
      ...SERVER,
      reconnect,
      why: `the reconnect asked from revision ${rc.resumedFrom}, at or before this change, and the server did not send it`,
    };
  };

  const missing: { event: KvEvent; position: number }[] = [];
  expected.forEach((e, position) => {
    if (delivered.has(eventId(e))) return;
    if (excused(e.revision)) {
      counts.excusedByCompaction += 1;
      return;
    }
    missing.push({ event: e, position });
  });
  // reliable: missing changes, in runs with one blame.
  let run: { events: KvEvent[]; blame: Blame } | null = null;
  const flushRun = (): void => {
    if (!run) return;
    const revisions = [...new Set(run.events.map((e) => e.revision))];
    const head = run.events[0] as KvEvent;
    violation(
      'reliable',
      'missing',
      revisions,
      run.events,
      [],
      null,
      run.blame,
      `never received ${run.events.length === 1 ? eventText(head) : `${run.events.length} changes from revision ${head.revision} to ${revisions[revisions.length - 1]}`} (${neighbours(head.revision)})`,
    );
    run = null;
  };
  let previousPosition = -2;
  for (const { event: e, position } of missing) {
    const blame = missingBlame(e.revision);
    if (run && (position !== previousPosition + 1 || run.blame.why !== blame.why)) flushRun();
    run ??= { events: [], blame };
    run.events.push(e);
    previousPosition = position;
  }
  flushRun();
  needsTruth('reliable', from, to, `its range ${from}..${to}`);

  // bookmarkable: a matching change at or below a progress notification, never delivered.
  if (progress.length > 0) {
    const prefixMax: number[] = [];
    progress.forEach((p, k) => prefixMax.push(Math.max(prefixMax[k - 1] ?? -Infinity, p.revision)));
    // One violation per progress notification: the changes it covered that never came.
    const uncovered = new Map<number, KvEvent[]>();
    for (const { event: e } of missing) {
      let lo = 0;
      let hi = progress.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((prefixMax[mid] as number) < e.revision) lo = mid + 1;
        else hi = mid;
      }
      if (lo < progress.length) uncovered.set(lo, [...(uncovered.get(lo) ?? []), e]);
    }
    for (const [k, lost] of uncovered) {
      const p = progress[k] as { revision: number; atMs: number };
      violation(
        'bookmarkable',
        'missing-at-progress',
        [...new Set(lost.map((e) => e.revision))],
        lost,
        [],
        p.atMs,
        SERVER,
        `received a progress notification at revision ${p.revision} without ${lost.length === 1 ? eventText(lost[0] as KvEvent) : `${lost.length} changes at or below it`} before it (nor after)`,
      );
    }
    needsTruth('bookmarkable', from, lastProgress, `its progress notifications`);
  }

  // resumable: each stream with a known start begins with the first matching change at or after it.
  for (const seg of segments) {
    const s = seg.start;
    const f = seg.first;
    if (s === null || !f) continue;
    const blame: Blame = seg.reconnect
      ? {
          ...SERVER,
          reconnect: {
            atMs: seg.reconnect.atMs,
            resumedFrom: seg.reconnect.resumedFrom,
            lastDeliveredRevision: seg.reconnect.lastNewRevision,
          },
          why: `the stream was asked to start at revision ${s}`,
        }
      : { ...SERVER, why: `the watch was asked to start at revision ${s}` };
    const what = seg.reconnect
      ? `the stream reopened at ${seg.reconnect.atMs} ms from revision ${s}`
      : `the watch from revision ${s}`;
    if (f.event.revision < s) {
      violation(
        'resumable',
        'started-early',
        [f.event.revision],
        [],
        [f.event],
        f.atMs,
        blame,
        `${what} began with ${eventText(f.event)}, before its start`,
      );
      continue;
    }
    if (!needsTruth('resumable', s, f.event.revision, `${what} up to its first event`)) continue;
    const first =
      expected.find((e) => e.revision >= s) ?? truth.events.find((e) => e.revision >= s && matches(e));
    if (!first || first.revision > f.event.revision) continue; // no such change: `unexpected` says it
    if (first.revision < f.event.revision || first.key !== f.event.key) {
      violation(
        'resumable',
        'started-late',
        [first.revision, f.event.revision],
        index.atRevision(first.revision).filter(matches),
        [f.event],
        f.atMs,
        blame,
        `${what} began with ${eventText(f.event)}, not with ${eventText(first)}`,
      );
    }
  }
}
