/**
 * The watch checker's input: what etcd applied to a key space (the truth), and what each
 * watcher asked for and received, in arrival order, on the run's clock. Plain data: a recorder
 * fills it from a run, a generator (generate.ts) fills it for tests.
 */

/** A key as etcd's mvccpb.KeyValue carries it in an event's prev_kv. */
export interface KvSnapshot {
  readonly key: string;
  readonly value?: string;
  readonly createRevision?: number;
  readonly modRevision?: number;
  readonly version?: number;
}

/**
 * One change to one key at one revision: an entry of the truth, or an event a watcher received.
 * `revision` is the event's kv.mod_revision (for a delete, the revision of the delete), which is
 * the revision of the write that made it: one write (a put, a delete that deleted, a txn) takes
 * one revision and makes one event per key it changed. Fields left out were not recorded (or,
 * in the truth, are not known) and are not compared.
 */
export interface KvEvent {
  readonly revision: number;
  readonly key: string;
  readonly type: 'put' | 'delete';
  /** put: the value written. */
  readonly value?: string;
  /** put: the key's create revision and version after it (etcd sends 0 for a delete). */
  readonly createRevision?: number;
  readonly version?: number;
  /**
   * The key before the change (null: it did not exist). In the truth, when known; in a
   * watcher's events, only when it asked for prev_kv — compared then.
   */
  readonly prevKv?: KvSnapshot | null;
}

/**
 * Keys as etcd ranges them: `key` alone is that one key; `prefix: true` every key that starts
 * with `key`; `rangeEnd` the half-open range [key, rangeEnd), with "\0" meaning every key ≥ key.
 * Keys compare as JavaScript strings (UTF-16 code units), which is etcd's byte order for
 * ASCII keys — the lab's keys are ASCII.
 */
export interface KeyRange {
  readonly key: string;
  readonly prefix?: boolean;
  readonly rangeEnd?: string;
}

/**
 * What etcd applied, as far as it is known: the changes in revision order (within one
 * revision, a txn's changes in the order of its requests, which is the order etcd emits them).
 * Every revision in [fromRevision, toRevision] is known — its changes to `keySpace` are all in
 * `events` (a revision with none there changed only keys outside it) — except `unknownRevisions`:
 * revisions some write took whose changes are not known (an indeterminate write that applied,
 * unrecorded). Revisions outside [fromRevision, toRevision] are unknown too.
 */
export interface WriteTruth {
  readonly events: readonly KvEvent[];
  readonly fromRevision: number;
  readonly toRevision: number;
  readonly unknownRevisions: readonly number[];
  /** The keys whose changes `events` hold; absent: every key. */
  readonly keySpace?: KeyRange;
}

/** A watch as the client asked for it. */
export interface WatchRequest {
  readonly range: KeyRange;
  /**
   * The first revision to deliver, or 'now': from the revision after the store's revision when
   * the watch was created (the header of the `created` response says which).
   */
  readonly startRevision: number | 'now';
  readonly progressNotify?: boolean;
  readonly prevKv?: boolean;
  /** etcd's watch filters: leave out puts (NOPUT) or deletes (NODELETE). */
  readonly filters?: readonly ('noput' | 'nodelete')[];
}

/**
 * One thing a watcher received (or, for `reconnect`, noticed), in arrival order, at `atMs` on
 * the run's clock.
 * - `created`: the server accepted the watch; `revision` is the response header's revision.
 * - `events`: one WatchResponse with events; `revision` is its header revision.
 * - `progress`: a progress notification (an empty response): everything matching up to
 *   `revision` was delivered before it.
 * - `compacted`: the watch was cancelled because its start revision is compacted; revisions
 *   below `compactRevision` cannot be delivered any more.
 * - `canceled`: the server cancelled the watch for another reason.
 * - `reconnect`: the client library reopened the stream (the application saw a new stream,
 *   or the library said it reconnected); `resumeRevision` is the start revision the new watch
 *   asked for, when the library tells it.
 */
export type WatchResponse =
  | { readonly type: 'created'; readonly atMs: number; readonly revision: number }
  | {
      readonly type: 'events';
      readonly atMs: number;
      readonly revision?: number;
      readonly events: readonly KvEvent[];
    }
  | { readonly type: 'progress'; readonly atMs: number; readonly revision: number }
  | { readonly type: 'compacted'; readonly atMs: number; readonly compactRevision: number }
  | { readonly type: 'canceled'; readonly atMs: number; readonly reason?: string }
  | { readonly type: 'reconnect'; readonly atMs: number; readonly resumeRevision?: number };

/** One watcher: a name for reports, its request, and everything it received. */
export interface WatcherHistory {
  readonly id: string;
  readonly request: WatchRequest;
  readonly responses: readonly WatchResponse[];
}

/**
 * etcd's six watch guarantees (https://etcd.io/docs/v3.5/learning/api_guarantees/#watch-apis):
 * - ordered: events are ordered by revision; an event never comes after one that follows it;
 * - unique: an event never comes twice;
 * - atomic: all events of one revision (a txn over several keys) come in one response;
 * - bookmarkable: a progress notification at R comes after every event ≤ R;
 * - reliable: no event is dropped (nor invented): what arrives is what etcd applied;
 * - resumable: a watch from revision R starts with the first event at or after R.
 */
export type Guarantee = 'ordered' | 'unique' | 'atomic' | 'bookmarkable' | 'reliable' | 'resumable';

export const GUARANTEES: readonly Guarantee[] = [
  'ordered',
  'unique',
  'atomic',
  'bookmarkable',
  'reliable',
  'resumable',
];
