import { inRange } from './key-range.ts';
import type { Blame } from './check-types.ts';
import { eventId } from './truth-index.ts';
import type { KvEvent, KvSnapshot } from './types.ts';
import { eventText, SERVER, type Delivery, type Segment, type WatcherScope } from './watcher-scope.ts';

/**
 * The first half of checking one watcher: its responses walked once, in arrival order, judging
 * what shows at the moment of arrival (ordered, unique, atomic, an event after a progress
 * notification, an event etcd did not apply or applied otherwise) and recording what the
 * judgements after the walk need (watcher-judgements.ts).
 */

/** What the walk leaves for the judgements after it. */
export interface WalkState {
  readonly segments: readonly Segment[];
  /** Each change delivered, by (revision, key), at its first delivery. */
  readonly delivered: ReadonlyMap<string, Delivery>;
  /** Revisions of new events, in arrival order. */
  readonly newRevisions: readonly number[];
  readonly lastNewRevision: number | null;
  /** The highest progress notification's revision (-Infinity: none). */
  readonly lastProgress: number;
  readonly progress: readonly { revision: number; atMs: number }[];
  readonly compactions: readonly { below: number; from: number }[];
  /** Where the watch started (null: not known). */
  readonly start: number | null;
  /** It received an event or a progress notification. */
  readonly observed: boolean;
}

export function walkResponses(scope: WatcherScope): WalkState {
  const { w, index, truth, truthCovers, matches, violation, unknownBecause, counts } = scope;
  const { request } = w;
  const initialStart = typeof request.startRevision === 'number' ? request.startRevision : null;
  const segments: Segment[] = [{ start: initialStart }];
  const delivered = new Map<string, Delivery>();
  const revisionResponse = new Map<number, number>(); // revision → response of its first new event
  const newRevisions: number[] = []; // revisions of new events, in arrival order
  let lastNew: Delivery | null = null; // the greatest new event so far (revision, then txn order)
  let lastNewRevision: number | null = null;
  let start: number | null = initialStart;
  let covered: number | null = initialStart !== null ? initialStart - 1 : null;
  let lastProgress = -Infinity;
  const progress: { revision: number; atMs: number }[] = [];
  const compactions: { below: number; from: number }[] = [];
  let observed = false;
  let segment = 0;
  let pendingDuplicates: { first: Delivery; again: Delivery; blame: Blame }[] = [];

  const flushDuplicates = (): void => {
    // One violation per run of duplicates in one response with one blame.
    if (pendingDuplicates.length === 0) return;
    const head = pendingDuplicates[0] as (typeof pendingDuplicates)[number];
    const events = pendingDuplicates.map((d) => d.again.event);
    const revisions = [...new Set(events.map((e) => e.revision))].sort((a, b) => a - b);
    violation(
      'unique',
      'duplicate',
      revisions,
      pendingDuplicates.map((d) => d.first.event),
      events,
      head.again.atMs,
      head.blame,
      `received ${events.length === 1 ? 'an event' : `${events.length} events`} again (${events
        .slice(0, 3)
        .map(eventText)
        .join('; ')}${events.length > 3 ? '; …' : ''}), first delivered at ${head.first.atMs} ms`,
    );
    pendingDuplicates = [];
  };

  const duplicateBlame = (first: Delivery, again: Delivery): Blame => {
    if (first.segment === again.segment)
      return { ...SERVER, why: 'sent twice on one stream (no reconnect between)' };
    const rc = segments[again.segment]?.reconnect;
    if (!rc) return SERVER;
    const reconnect = {
      atMs: rc.atMs,
      resumedFrom: rc.resumedFrom,
      lastDeliveredRevision: rc.lastNewRevision,
    };
    if (rc.resumedFrom === null)
      return {
        by: 'client-library',
        confirmed: false,
        reconnect,
        why: 'delivered again after a reconnect whose resume revision was not recorded',
      };
    if (rc.resumedFrom <= again.event.revision)
      return {
        by: 'client-library',
        confirmed: true,
        reconnect,
        why: `the reconnect asked again from revision ${rc.resumedFrom}, at or before this event it had delivered (last delivered before it: ${rc.lastNewRevision ?? 'none'})`,
      };
    return {
      ...SERVER,
      reconnect,
      why: `the reconnect asked from revision ${rc.resumedFrom}, after this event: the server sent what it was not asked for`,
    };
  };

  w.responses.forEach((resp, responseIndex) => {
    counts.responses += 1;
    if (resp.type === 'created') {
      if (segment === 0 && start === null) {
        start = resp.revision + 1;
        covered = resp.revision;
        segments[0] = { start };
      }
      return;
    }
    if (resp.type === 'progress') {
      observed = true;
      counts.progressNotifications += 1;
      flushDuplicates();
      progress.push({ revision: resp.revision, atMs: resp.atMs });
      lastProgress = Math.max(lastProgress, resp.revision);
      covered = Math.max(covered ?? resp.revision, resp.revision);
      return;
    }
    if (resp.type === 'compacted') {
      flushDuplicates();
      compactions.push({ below: resp.compactRevision, from: (lastNewRevision ?? (start ?? 1) - 1) + 1 });
      return;
    }
    if (resp.type === 'canceled') return;
    if (resp.type === 'reconnect') {
      flushDuplicates();
      counts.reconnects += 1;
      segment += 1;
      const resumedFrom = resp.resumeRevision ?? null;
      segments.push({
        start: resumedFrom,
        reconnect: { atMs: resp.atMs, resumedFrom, lastNewRevision, coveredBefore: covered },
      });
      if (resumedFrom === null)
        unknownBecause(
          'resumable',
          `watcher ${w.id}: a reconnect at ${resp.atMs} ms without its resume revision cannot be judged`,
        );
      return;
    }
    // Events.
    if (resp.events.length > 0) observed = true;
    const seg = segments[segment] as Segment;
    const splitReported = new Set<number>();
    for (const event of resp.events) {
      counts.eventsDelivered += 1;
      const d: Delivery = { event, response: responseIndex, segment, atMs: resp.atMs };
      seg.first ??= d;
      const id = eventId(event);
      const first = delivered.get(id);
      if (first) {
        const blame = duplicateBlame(first, d);
        const head = pendingDuplicates[0];
        if (head && (head.again.response !== responseIndex || head.blame.why !== blame.why))
          flushDuplicates();
        pendingDuplicates.push({ first, again: d, blame });
        continue;
      }
      flushDuplicates();
      delivered.set(id, d);
      seg.firstNewRevision ??= event.revision;
      // ordered
      if (lastNew) {
        const back = event.revision < lastNew.event.revision;
        const i = index.byId.get(id);
        const j = index.byId.get(eventId(lastNew.event));
        const txnOrder =
          event.revision === lastNew.event.revision && i !== undefined && j !== undefined && i < j;
        if (back || txnOrder)
          violation(
            'ordered',
            back ? 'revision-went-back' : 'txn-order',
            [event.revision],
            [],
            [lastNew.event, event],
            resp.atMs,
            SERVER,
            back
              ? `received ${eventText(event)} after ${eventText(lastNew.event)}`
              : `received ${eventText(event)} after ${eventText(lastNew.event)}, which the same txn changed later`,
          );
      }
      if (!lastNew || event.revision > lastNew.event.revision) lastNew = d;
      else if (event.revision === lastNew.event.revision) {
        const i = index.byId.get(id);
        const j = index.byId.get(eventId(lastNew.event));
        if (i !== undefined && j !== undefined && i > j) lastNew = d;
      }
      lastNewRevision = Math.max(lastNewRevision ?? event.revision, event.revision);
      newRevisions.push(event.revision);
      // atomic
      const firstResponse = revisionResponse.get(event.revision);
      if (firstResponse === undefined) revisionResponse.set(event.revision, responseIndex);
      else if (firstResponse !== responseIndex && !splitReported.has(event.revision)) {
        splitReported.add(event.revision);
        const parts = [...delivered.values()].filter((x) => x.event.revision === event.revision);
        violation(
          'atomic',
          'split-revision',
          [event.revision],
          index.atRevision(event.revision).filter(matches),
          parts.map((x) => x.event),
          resp.atMs,
          SERVER,
          `received the changes of revision ${event.revision} in more than one response (the first at ${w.responses[firstResponse]?.atMs ?? '?'} ms, again at ${resp.atMs} ms)`,
        );
      }
      // bookmarkable: nothing at or below a progress notification after it
      if (event.revision <= lastProgress)
        violation(
          'bookmarkable',
          'event-after-progress',
          [event.revision],
          [],
          [event],
          resp.atMs,
          SERVER,
          `received ${eventText(event)} after a progress notification at revision ${lastProgress}`,
        );
      // reliable, content: the event must be a matching change etcd applied
      if (!inRange(request.range, event.key) || !matches(event)) {
        violation(
          'reliable',
          'unexpected',
          [event.revision],
          [],
          [event],
          resp.atMs,
          SERVER,
          `received ${eventText(event)}, which its ${inRange(request.range, event.key) ? 'filters exclude' : 'range does not hold'}`,
        );
      } else if (truthCovers && index.knows(event.revision, event.revision)) {
        const t = index.byId.get(id);
        const change = t === undefined ? undefined : truth.events[t];
        if (!change)
          violation(
            'reliable',
            'unexpected',
            [event.revision],
            [],
            [event],
            resp.atMs,
            SERVER,
            `received ${eventText(event)}, a change etcd did not apply`,
          );
        else {
          const diff = difference(event, change, request.prevKv === true);
          if (diff !== null)
            violation(
              'reliable',
              'differs',
              [event.revision],
              [change],
              [event],
              resp.atMs,
              SERVER,
              `received ${eventText(event)} with ${diff}`,
            );
        }
      }
    }
    flushDuplicates();
    if (lastNewRevision !== null) covered = Math.max(covered ?? lastNewRevision, lastNewRevision);
  });
  flushDuplicates();

  return {
    segments,
    delivered,
    newRevisions,
    lastNewRevision,
    lastProgress,
    progress,
    compactions,
    start,
    observed,
  };
}

const snapshotDiffers = (a: KvSnapshot | null, b: KvSnapshot | null): boolean => {
  if (a === null || b === null) return a !== b;
  const fields = ['value', 'createRevision', 'modRevision', 'version'] as const;
  return a.key !== b.key || fields.some((f) => a[f] !== undefined && b[f] !== undefined && a[f] !== b[f]);
};

/** How a delivered event differs from the truth's change (fields both know), or null. */
function difference(observed: KvEvent, truth: KvEvent, comparePrevKv: boolean): string | null {
  if (observed.type !== truth.type) return `type ${observed.type}, etcd applied a ${truth.type}`;
  if (observed.type === 'put') {
    for (const f of ['value', 'createRevision', 'version'] as const) {
      const a = observed[f];
      const b = truth[f];
      if (a !== undefined && b !== undefined && a !== b)
        return `${f} ${JSON.stringify(a)}, etcd applied ${JSON.stringify(b)}`;
    }
  }
  if (comparePrevKv && observed.prevKv !== undefined && truth.prevKv !== undefined) {
    if (snapshotDiffers(observed.prevKv, truth.prevKv))
      return `prev kv ${JSON.stringify(observed.prevKv)}, etcd had ${JSON.stringify(truth.prevKv)}`;
  }
  return null;
}
