import type { Guarantee, KvEvent } from './types.ts';

/** What the watch checker (check.ts) is given as options and answers. */

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
