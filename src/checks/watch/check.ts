import { covers, inRange, watchMatches } from './key-range.ts';
import {
  GUARANTEES,
  type Guarantee,
  type KvEvent,
  type KvSnapshot,
  type WatcherHistory,
  type WriteTruth,
} from './types.ts';

/**
 * Does every watcher's stream keep etcd's six watch guarantees (types.ts: `Guarantee`)? Each
 * watcher's responses are walked once, in arrival order, as etcd's robustness tests do
 * (tests/robustness/validate/watch.go), with two differences: the truth is given (what etcd
 * applied, with the revisions it is unsure of), not merged from the watchers' own events; and
 * a watcher's stream may span reconnects of the client library, which this checker sees and
 * uses to say who broke a guarantee.
 *
 * Each delivered event is identified by (revision, key): one write changes a key once. An event
 * seen again is a duplicate (unique) and is judged for nothing else, so that one anomaly is
 * named by one guarantee: a re-delivery is not also "out of order".
 * - ordered: a new event whose revision is below one already delivered (or, within one
 *   revision, before a change the txn made earlier);
 * - unique: an event delivered twice;
 * - atomic: the events of one revision arriving in more than one response;
 * - bookmarkable: an event at or below a progress notification's revision arriving after it,
 *   or a matching change at or below it never delivered at all;
 * - reliable: from the watch's start to the last revision it was told about (its last event or
 *   progress notification), the changes etcd applied that match it, and only those, delivered
 *   with the same content (type, value, create revision, version, prev kv when asked);
 * - resumable: the first event of the watch, and of each stream a reconnect reopened from a
 *   known revision R, is the first matching change at or after R.
 *
 * Who broke it — the rule. The server answers the watch it is asked for; the client library
 * decides, after a reconnect, from which revision to ask again. A correct library asks from the
 * revision after the last one it was told about: R in [L + 1, C + 1], where L is the last
 * event's revision delivered before the reconnect and C the highest revision it was told about
 * (a later progress notification; the start minus one before any). So:
 * - a duplicate delivered after a reconnect that resumed from R ≤ its revision was asked for
 *   again: client library; after one that resumed from R above its revision, the server sent
 *   what it was not asked: server;
 * - a missing change at revision r lying in the seam of a reconnect (after the last event
 *   before it, before the first new one after it) that resumed from R > r was never asked for:
 *   client library; one that resumed from R ≤ r was asked for and not sent: server;
 * - a reconnect whose resume revision was not recorded explains an anomaly in its seam only
 *   as "client library, unconfirmed" (`blame.confirmed: false`);
 * - everything else (ordering, atomicity, progress, content, a start past the revision asked
 *   for) is the server's.
 *
 * Unknown, never ok by default: a judgement that needs the truth where it does not know the
 * revisions a watcher spans (an indeterminate write's, or outside its range or key space), a
 * 'now' watch without the header that says where it started, a reconnect without its resume
 * revision, make that guarantee 'unknown' for the watcher unless it is violated anyway; so does
 * a run where no watcher received anything at all.
 *
 * Pure: no I/O, no clock.
 */

export interface WatchCheckOptions {
  /** Keep at most this many violations in the result; all are counted. Default 100. */
  readonly maxViolations?: number;
  /** At most this many events in a violation's expected / observed lists. Default 20. */
  readonly maxEventsPerViolation?: number;
}

export interface Blame {
  readonly by: 'server' | 'client-library';
  /** False when a reconnect explains it but its resume revision was not recorded. */
  readonly confirmed: boolean;
  /** The reconnect that explains (or, for the server, does not explain) it. */
  readonly reconnect?: {
    readonly atMs: number;
    /** The revision the library reopened the watch from (null: not recorded). */
    readonly resumedFrom: number | null;
    /** The last event's revision delivered before it (null: none). */
    readonly lastDeliveredRevision: number | null;
  };
  readonly why: string;
}

export type ViolationKind =
  | 'revision-went-back'
  | 'txn-order'
  | 'duplicate'
  | 'split-revision'
  | 'event-after-progress'
  | 'missing-at-progress'
  | 'missing'
  | 'unexpected'
  | 'differs'
  | 'started-late'
  | 'started-early';

export interface WatchViolation {
  readonly guarantee: Guarantee;
  readonly kind: ViolationKind;
  readonly watcher: string;
  /** The revisions concerned, ascending. */
  readonly revisions: readonly number[];
  /** What etcd applied there, as this watcher should have seen it. */
  readonly expected: readonly KvEvent[];
  /** What the watcher received there. */
  readonly observed: readonly KvEvent[];
  /** Arrival of the response where it showed (null: at the end, from what never came). */
  readonly atMs: number | null;
  readonly blame: Blame;
  readonly message: string;
}

export interface GuaranteeVerdict {
  readonly status: 'ok' | 'violation' | 'unknown';
  readonly violations: number;
  /** Why unknown (or what could not be judged beside a violation): one line each. */
  readonly reasons: readonly string[];
}

export interface WatchCheckResult {
  readonly status: 'ok' | 'violation' | 'unknown';
  readonly perGuarantee: Readonly<Record<Guarantee, GuaranteeVerdict>>;
  /** The first `maxViolations`, watcher by watcher in arrival order. */
  readonly violations: readonly WatchViolation[];
  /** Input the checker could not take at all (status unknown). */
  readonly problem?: string;
  readonly counts: {
    readonly watchers: number;
    readonly responses: number;
    /** Events received, duplicates included. */
    readonly eventsDelivered: number;
    /** Matching changes of the truth inside the watchers' judged ranges (summed over watchers). */
    readonly eventsExpected: number;
    readonly progressNotifications: number;
    readonly reconnects: number;
    readonly truthEvents: number;
    /** Changes not delivered because their revisions were compacted (not violations). */
    readonly excusedByCompaction: number;
    readonly violations: number;
    readonly violationsByServer: number;
    readonly violationsByClientLibrary: number;
  };
}

const eventId = (e: { revision: number; key: string }): string => `${e.revision}\0${e.key}`;

interface Delivery {
  readonly event: KvEvent;
  readonly response: number;
  readonly segment: number;
  readonly atMs: number;
}

interface Segment {
  /** The revision this stream was asked to start from (null: not known). */
  readonly start: number | null;
  readonly reconnect?: {
    readonly atMs: number;
    readonly resumedFrom: number | null;
    readonly lastNewRevision: number | null;
    /** The highest revision the watcher had been told about before it (events, progress). */
    readonly coveredBefore: number | null;
  };
  /** The first event delivered on it (new or not). */
  first?: Delivery;
  /** The revision of the first new event delivered on it. */
  firstNewRevision?: number;
}

/** The truth, indexed once for all watchers. */
class TruthIndex {
  readonly byId = new Map<string, number>();
  private readonly unknown: readonly number[];
  constructor(readonly truth: WriteTruth) {
    truth.events.forEach((e, i) => this.byId.set(eventId(e), i));
    this.unknown = [...truth.unknownRevisions].sort((a, b) => a - b);
  }
  /** The truth's changes at one revision. */
  atRevision(revision: number): KvEvent[] {
    const events = this.truth.events;
    let lo = 0;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((events[mid] as KvEvent).revision < revision) lo = mid + 1;
      else hi = mid;
    }
    const out: KvEvent[] = [];
    for (let k = lo; k < events.length && (events[k] as KvEvent).revision === revision; k += 1)
      out.push(events[k] as KvEvent);
    return out;
  }
  /** Whether every revision in [low, high] is known. */
  knows(low: number, high: number): boolean {
    if (high < low) return true;
    if (low < this.truth.fromRevision || high > this.truth.toRevision) return false;
    let lo = 0;
    let hi = this.unknown.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.unknown[mid] as number) < low) lo = mid + 1;
      else hi = mid;
    }
    const next = this.unknown[lo];
    return next === undefined || next > high;
  }
  /** Which revisions in [low, high] are unknown (at most `limit`; outside the range as one note). */
  unknownIn(low: number, high: number, limit = 5): string {
    const out: string[] = [];
    if (low < this.truth.fromRevision) out.push(`below ${this.truth.fromRevision}`);
    if (high > this.truth.toRevision) out.push(`above ${this.truth.toRevision}`);
    for (const r of this.unknown) if (r >= low && r <= high && out.length < limit) out.push(String(r));
    return out.join(', ');
  }
}

/** Checks every watcher against the truth. Never throws on what the input holds. */
export function checkWatches(
  truth: WriteTruth,
  watchers: readonly WatcherHistory[],
  options: WatchCheckOptions = {},
): WatchCheckResult {
  const maxViolations = options.maxViolations ?? 100;
  const maxEvents = options.maxEventsPerViolation ?? 20;
  const problem = validateTruth(truth) ?? validateWatchers(watchers);
  const index = new TruthIndex(truth);
  const violations: WatchViolation[] = [];
  const perCount = Object.fromEntries(GUARANTEES.map((g) => [g, 0])) as Record<Guarantee, number>;
  const reasons = Object.fromEntries(GUARANTEES.map((g) => [g, [] as string[]])) as Record<
    Guarantee,
    string[]
  >;
  const counts = {
    watchers: watchers.length,
    responses: 0,
    eventsDelivered: 0,
    eventsExpected: 0,
    progressNotifications: 0,
    reconnects: 0,
    truthEvents: truth.events.length,
    excusedByCompaction: 0,
    violations: 0,
    violationsByServer: 0,
    violationsByClientLibrary: 0,
  };
  const report = (v: WatchViolation): void => {
    perCount[v.guarantee] += 1;
    counts.violations += 1;
    if (v.blame.by === 'server') counts.violationsByServer += 1;
    else counts.violationsByClientLibrary += 1;
    if (violations.length < maxViolations)
      violations.push({
        ...v,
        expected: v.expected.slice(0, maxEvents),
        observed: v.observed.slice(0, maxEvents),
      });
  };
  const unknownBecause = (g: Guarantee, reason: string): void => {
    reasons[g].push(reason);
  };

  if (problem === undefined) {
    let observedAnything = false;
    for (const w of watchers) {
      const seen = checkWatcher(w, index, report, unknownBecause, counts);
      observedAnything ||= seen;
    }
    if (watchers.length === 0) for (const g of GUARANTEES) unknownBecause(g, 'no watchers');
    else if (!observedAnything)
      for (const g of GUARANTEES)
        unknownBecause(g, 'no watcher received an event or a progress notification');
  }

  const perGuarantee = Object.fromEntries(
    GUARANTEES.map((g): [Guarantee, GuaranteeVerdict] => {
      const why = problem !== undefined ? [problem] : [...new Set(reasons[g])];
      const status = perCount[g] > 0 ? 'violation' : why.length > 0 ? 'unknown' : 'ok';
      return [g, { status, violations: perCount[g], reasons: why }];
    }),
  ) as Record<Guarantee, GuaranteeVerdict>;
  const verdicts = Object.values(perGuarantee);
  const status = verdicts.some((v) => v.status === 'violation')
    ? 'violation'
    : verdicts.some((v) => v.status === 'unknown')
      ? 'unknown'
      : 'ok';
  return { status, perGuarantee, violations, ...(problem !== undefined ? { problem } : {}), counts };
}

function validateTruth(truth: WriteTruth): string | undefined {
  const unknown = new Set(truth.unknownRevisions);
  let last = -Infinity;
  for (const e of truth.events) {
    if (e.revision < last) return `the truth is not in revision order (${e.revision} after ${last})`;
    if (e.revision < truth.fromRevision || e.revision > truth.toRevision)
      return `the truth has a change at revision ${e.revision}, outside its range [${truth.fromRevision}, ${truth.toRevision}]`;
    if (unknown.has(e.revision))
      return `the truth has a change at revision ${e.revision}, which it also calls unknown`;
    last = e.revision;
  }
  return undefined;
}

function validateWatchers(watchers: readonly WatcherHistory[]): string | undefined {
  const ids = new Set<string>();
  for (const w of watchers) {
    if (ids.has(w.id)) return `two watchers are called ${JSON.stringify(w.id)}`;
    ids.add(w.id);
  }
  return undefined;
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

export function eventText(e: KvEvent): string {
  const body = e.type === 'put' ? `put ${e.key}=${JSON.stringify(e.value ?? '?')}` : `delete ${e.key}`;
  return `${body} @${e.revision}`;
}

const SERVER: Blame = { by: 'server', confirmed: true, why: 'the server sent it so' };

/**
 * One watcher. Reports its violations and unknowns; answers whether it received anything.
 * `counts` is updated in place.
 */
function checkWatcher(
  w: WatcherHistory,
  index: TruthIndex,
  report: (v: WatchViolation) => void,
  unknownBecause: (g: Guarantee, reason: string) => void,
  counts: { -readonly [K in keyof WatchCheckResult['counts']]: number },
): boolean {
  const { request } = w;
  const truth = index.truth;
  const truthCovers = truth.keySpace === undefined || covers(truth.keySpace, request.range);
  const matches = (e: { key: string; type: 'put' | 'delete' }): boolean =>
    watchMatches(request, e.key, e.type);
  const violation = (
    guarantee: Guarantee,
    kind: ViolationKind,
    revisions: readonly number[],
    expected: readonly KvEvent[],
    observed: readonly KvEvent[],
    atMs: number | null,
    blame: Blame,
    what: string,
  ): void =>
    report({
      guarantee,
      kind,
      watcher: w.id,
      revisions,
      expected,
      observed,
      atMs,
      blame,
      message: `${guarantee}: watcher ${w.id} ${what}`,
    });

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

  // The range judged for reliability: from the start to the last revision it was told about.
  const from = start ?? newRevisions[0] ?? null;
  const to = Math.max(lastNewRevision ?? -Infinity, lastProgress);
  if (start === null)
    unknownBecause(
      'resumable',
      `watcher ${w.id}: a watch from 'now' without a created response: where it started is not known`,
    );
  if (from === null || !Number.isFinite(to)) return observed;

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
  const missingBlame = (r: number): Blame => {
    for (const seg of segments) {
      const rc = seg.reconnect;
      if (!rc) continue;
      const after = seg.firstNewRevision ?? Infinity;
      if (!((rc.lastNewRevision ?? from - 1) < r && r < after)) continue;
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
          why: 'missing exactly around a reconnect whose resume revision was not recorded',
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
          why: `the reconnect resumed from revision ${rc.resumedFrom}, after this change (last delivered before it: ${rc.lastNewRevision ?? 'none'})`,
        };
      return {
        ...SERVER,
        reconnect,
        why: `the reconnect asked from revision ${rc.resumedFrom}, at or before this change, and the server did not send it`,
      };
    }
    return { ...SERVER, why: 'not sent on any stream' };
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
  return observed;
}
