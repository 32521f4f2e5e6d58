import type { GuaranteeVerdict, WatchCheckOptions, WatchCheckResult, WatchViolation } from './check-types.ts';
import { TruthIndex } from './truth-index.ts';
import { GUARANTEES, type Guarantee, type WatcherHistory, type WriteTruth } from './types.ts';
import { judgeAfterWalk } from './watcher-judgements.ts';
import { watcherScope, type Counts } from './watcher-scope.ts';
import { walkResponses } from './watcher-walk.ts';

export type {
  Blame,
  GuaranteeVerdict,
  ViolationKind,
  WatchCheckOptions,
  WatchCheckResult,
  WatchViolation,
} from './check-types.ts';
export { eventText } from './watcher-scope.ts';

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
 *
 * The work for one watcher is in two halves: a walk over its responses in arrival order
 * (watcher-walk.ts) and the judgements that need the whole stream (watcher-judgements.ts).
 */

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

/**
 * One watcher. Reports its violations and unknowns; answers whether it received anything.
 * `counts` is updated in place.
 */
function checkWatcher(
  w: WatcherHistory,
  index: TruthIndex,
  report: (v: WatchViolation) => void,
  unknownBecause: (g: Guarantee, reason: string) => void,
  counts: Counts,
): boolean {
  const scope = watcherScope(w, index, report, unknownBecause, counts);
  const state = walkResponses(scope);
  judgeAfterWalk(scope, state);
  return state.observed;
}
