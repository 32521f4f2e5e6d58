import type { TimedOutcome } from '../measure/latency-stats.ts';
import type { ErrorClass } from './error-class.ts';

export type OperationKind = 'put' | 'get' | 'delete' | 'txn' | 'lease-grant' | 'lease-keepalive';

export const OPERATION_KINDS: readonly OperationKind[] = [
  'put',
  'get',
  'delete',
  'txn',
  'lease-grant',
  'lease-keepalive',
];

/** Kinds that change etcd's state; when one of them errors it may still have been applied. */
export const MUTATING_KINDS: ReadonlySet<OperationKind> = new Set([
  'put',
  'delete',
  'txn',
  'lease-grant',
  'lease-keepalive',
]);

export type Outcome = 'ok' | 'fail' | 'indeterminate';

/**
 * What a client works for in its run, as data (its id, e.g. `c0` or `s2c0`, is only a label):
 * the experiment's workload, the extra clients of one load step (numbered from 1), or the
 * members' clients of one cluster size in the quorum matrix.
 */
export type ClientRole =
  | { readonly of: 'workload' }
  | { readonly of: 'load-step'; readonly step: number }
  | { readonly of: 'quorum-cluster'; readonly members: number };

export type Consistency = 'linearizable' | 'serializable';

/**
 * What to ask etcd. A txn is a compare-and-set: put `value` if the key's mod revision is
 * still `expectedRevision` (0: the key does not exist), else read the key.
 */
export type OperationRequest =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'get'; readonly key: string; readonly consistency: Consistency }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'txn'; readonly key: string; readonly value: string; readonly expectedRevision: number }
  | { readonly kind: 'lease-grant'; readonly ttlSeconds: number }
  | { readonly kind: 'lease-keepalive'; readonly leaseId: string };

/**
 * One operation as a client saw it: what it asked, when it called and when the call
 * returned on the run's monotonic clock, and what came back. It is a latency-stats
 * `TimedOutcome` as it stands: latency is `endMs - startMs`.
 */
export interface OperationRecord extends TimedOutcome {
  /** Unique within a history, in the order the calls were made. */
  readonly id: number;
  readonly clientId: string;
  /** What the client works for, when whoever ran it said so. */
  readonly role?: ClientRole;
  readonly kind: OperationKind;
  /**
   * When the operation was invoked. In open-loop runs this is the *intended* send time
   * from the fixed-rate schedule, so latency includes any wait the load generator itself
   * imposed (no coordinated omission); `sentMs` says when it really went out.
   */
  readonly startMs: number;
  /** When the call returned (or failed). */
  readonly endMs: number;
  readonly outcome: Outcome;
  /** When the request was handed to the etcd client, if later than `startMs`. */
  readonly sentMs?: number;
  /**
   * Retrying clients only: the client's logical operation this call was an attempt at, and
   * the attempt's number (1 = first). Each attempt is its own record; `clientOperations`
   * folds them into what the caller saw.
   */
  readonly operation?: number;
  readonly attempt?: number;

  // Request.
  readonly key?: string;
  /** put/txn: the value written. get: the value read (absent when the key was not found). */
  readonly value?: string;
  readonly consistency?: Consistency;
  /** txn: the mod revision the compare expected (0: key absent). */
  readonly expectedRevision?: number;
  /** lease-grant: the TTL asked for. */
  readonly ttlSeconds?: number;
  /** lease-keepalive: the lease renewed. lease-grant: the lease granted. */
  readonly leaseId?: string;

  // Response (ok operations).
  /** The store revision in the response header. */
  readonly revision?: number;
  /** The member that answered (decimal member ID, as in `EtcdMember.memberId`). */
  readonly memberId?: string;
  readonly raftTerm?: number;
  /** get, failed txn compare: whether the key exists. */
  readonly found?: boolean;
  /** get, txn: the key's mod revision after the operation (0 when absent). */
  readonly modRevision?: number;
  /**
   * get, failed txn compare (the key was found): the key's create revision and version, as the
   * range response returned them. Absent in histories recorded before they were kept.
   */
  readonly createRevision?: number;
  readonly version?: number;
  /**
   * Failed txn compare, the key found: the value the failure branch read (`value` is the value
   * the txn would have written). Absent in histories recorded before it was kept.
   */
  readonly foundValue?: string;
  /** txn: whether the compare held and the put was applied. */
  readonly succeeded?: boolean;
  /** delete: how many keys were deleted. */
  readonly deleted?: number;
  /** lease-grant / lease-keepalive: the TTL etcd granted or renewed to. */
  readonly grantedTtlSeconds?: number;

  // Failure.
  readonly errorClass?: ErrorClass;
  readonly errorMessage?: string;
}
