/**
 * The linearizability checker's input: one etcd KV operation per entry, as a client saw it.
 * It is the lab's OperationRecord (src/history/operation-record.ts) reduced to what the
 * checker decides on, with requests and responses spelled out per etcd's KV API so that
 * multi-operation txns, compares on value / mod revision / version and per-key versions fit
 * (OperationRecord's txn is one CAS shape only); `fromOperationRecords` adapts recorded runs.
 */

/** One request inside a txn branch (or a whole put / get / delete). Single keys only. */
export type KvRequest =
  | { readonly type: 'put'; readonly key: string; readonly value: string }
  | { readonly type: 'get'; readonly key: string }
  | { readonly type: 'delete'; readonly key: string };

/** A txn compare. `target` 'mod' / 'create' / 'version' compare numbers, 'value' strings. 0 / absent key: see etcd. */
export type Compare =
  | {
      readonly key: string;
      readonly target: 'mod' | 'create' | 'version';
      readonly op: '=' | '!=' | '<' | '>';
      readonly value: number;
    }
  | {
      readonly key: string;
      readonly target: 'value';
      readonly op: '=' | '!=' | '<' | '>';
      readonly value: string;
    };

export type Request =
  | KvRequest
  | {
      readonly type: 'txn';
      readonly compare: readonly Compare[];
      readonly success: readonly KvRequest[];
      readonly failure: readonly KvRequest[];
    };

/**
 * A key as a read returned it. Fields left out were not recorded and are not checked
 * (the lab's txn records the mod revision of a failed compare but not the value).
 */
export interface KeyValue {
  readonly value?: string;
  readonly modRevision?: number;
  readonly createRevision?: number;
  readonly version?: number;
}

/** The response to one KvRequest: get → kv (null: not found); delete → deleted count; put → nothing. */
export interface KvResponse {
  readonly kv?: KeyValue | null;
  readonly deleted?: number;
}

/** What came back from an acknowledged operation. Absent fields are not checked. */
export interface Response {
  /** The header revision: the store's revision after the operation. */
  readonly revision?: number;
  /** get / delete: the single response; txn: one per request of the branch taken. */
  readonly kv?: KeyValue | null;
  readonly deleted?: number;
  /** txn: whether the compares held (success branch taken). */
  readonly succeeded?: boolean;
  readonly results?: readonly KvResponse[];
}

/**
 * One operation of a history. `ok`: it took effect between call and return, exactly as the
 * response says. `indeterminate`: a write whose call errored in a way that leaves open
 * whether it was applied; it may take effect at any time after its call, or never. Failed
 * operations (known not applied) and reads that did not return are left out of the history:
 * they constrain nothing.
 */
export interface HistoryOperation {
  /** Unique within the history; reports name operations by it. */
  readonly id: number;
  readonly client: string;
  /** Call and return on one clock (the run's monotonic clock, ms). */
  readonly call: number;
  readonly return: number;
  readonly status: 'ok' | 'indeterminate';
  readonly request: Request;
  /** ok operations only. */
  readonly response?: Response;
  /**
   * Indeterminate operations only: the revision it is known, from outside the history (the
   * watch truth, see patch.ts), to have applied at. It is placed there or nowhere.
   */
  readonly appliedAt?: number;
  /**
   * Indeterminate operations only: the revisions at which the watch truth shows a change it
   * could have made. If it changed anything the history saw, it did so at one of them: it is
   * placed at one of them or nowhere.
   */
  readonly appliedAtOneOf?: readonly number[];
}

/** The store before the history's first call. */
export interface InitialState {
  readonly revision: number;
  readonly kvs?: ReadonlyMap<
    string,
    { value: string; modRevision: number; createRevision: number; version: number }
  >;
}

/** Where the search got furthest before it had to give up on the history. */
export interface Violation {
  /** The acknowledged operation that returned before it could be placed. */
  readonly stuck: HistoryOperation;
  /** How many operations the longest linearizable prefix found holds. */
  readonly prefixLength: number;
  /** Its last operations, in linearization order (at most `prefixTail`). */
  readonly prefixTail: readonly HistoryOperation[];
  /** The store, after that prefix, on the keys the stuck operation and candidates touch. */
  readonly state: readonly string[];
  /** The revision after that prefix (null: unknown). */
  readonly revision: number | null;
  /**
   * Operations called before `stuck` returned and not in the prefix: each could have come
   * next, and why the model refused it there.
   */
  readonly candidates: readonly { readonly op: HistoryOperation; readonly refused: string }[];
  /** Acknowledged operations, not yet placed, whose returned revisions refused a candidate. */
  readonly blockers: readonly HistoryOperation[];
  /**
   * The operations whose intervals overlap the window from the earliest call among the
   * stuck operation and candidates to the stuck operation's return, with the prefix tail:
   * the smallest window of the history the search could not order (not minimised further).
   */
  readonly window: readonly HistoryOperation[];
}
