import type { Blame, ViolationKind, WatchCheckResult, WatchViolation } from './check-types.ts';
import { covers, watchMatches } from './key-range.ts';
import type { TruthIndex } from './truth-index.ts';
import type { Guarantee, KvEvent, WatcherHistory, WriteTruth } from './types.ts';

/**
 * One watcher under check: what the walk over its responses (watcher-walk.ts) and the
 * judgements after it (watcher-judgements.ts) share — its request, the truth, and where
 * violations and unknowns go.
 */

export interface Delivery {
  readonly event: KvEvent;
  readonly response: number;
  readonly segment: number;
  readonly atMs: number;
}

export interface Segment {
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

/** The server broke it, as far as anyone can tell: the default blame. */
export const SERVER: Blame = { by: 'server', confirmed: true, why: 'the server sent it so' };

export function eventText(e: KvEvent): string {
  const body = e.type === 'put' ? `put ${e.key}=${JSON.stringify(e.value ?? '?')}` : `delete ${e.key}`;
  return `${body} @${e.revision}`;
}

export type Counts = { -readonly [K in keyof WatchCheckResult['counts']]: number };

export interface WatcherScope {
  readonly w: WatcherHistory;
  readonly index: TruthIndex;
  readonly truth: WriteTruth;
  /** The truth knows every key the watch's range holds. */
  readonly truthCovers: boolean;
  readonly counts: Counts;
  /** The change is one this watch asked for (its range and filters). */
  readonly matches: (e: { key: string; type: 'put' | 'delete' }) => boolean;
  readonly violation: (
    guarantee: Guarantee,
    kind: ViolationKind,
    revisions: readonly number[],
    expected: readonly KvEvent[],
    observed: readonly KvEvent[],
    atMs: number | null,
    blame: Blame,
    what: string,
  ) => void;
  readonly unknownBecause: (g: Guarantee, reason: string) => void;
}

export function watcherScope(
  w: WatcherHistory,
  index: TruthIndex,
  report: (v: WatchViolation) => void,
  unknownBecause: (g: Guarantee, reason: string) => void,
  counts: Counts,
): WatcherScope {
  const truth = index.truth;
  return {
    w,
    index,
    truth,
    truthCovers: truth.keySpace === undefined || covers(truth.keySpace, w.request.range),
    counts,
    matches: (e) => watchMatches(w.request, e.key, e.type),
    violation: (guarantee, kind, revisions, expected, observed, atMs, blame, what) =>
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
      }),
    unknownBecause,
  };
}
