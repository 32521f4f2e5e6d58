import { ClientClosedError, EtcdLeaseInvalidError } from 'etcd3';
import type { ErrorClass } from './error-class.ts';
import { MUTATING_KINDS, type OperationKind, type Outcome } from './operation-record.ts';

export { ERROR_CLASSES, type ErrorClass } from './error-class.ts';

export interface ErrorClassification {
  readonly errorClass: ErrorClass;
  /**
   * True when the error proves the request had no effect: it never left the client, or
   * etcd rejected it before proposing it to raft. False when it may have been applied.
   */
  readonly definite: boolean;
}

/*
 * How the classes were decided, from etcd's server code (server/etcdserver/v3_server.go,
 * api/v3rpc/rpctypes/error.go, 3.4–3.6) and grpc-js:
 *
 * - processInternalRaftRequestOnce rejects with ErrTooManyRequests and ErrRequestTooLarge
 *   *before* proposing: definite. s.r.Propose failing ("raft proposal dropped") means raft
 *   never appended the entry: definite.
 * - Once proposed, a request that does not come back in time gets ErrTimeout,
 *   ErrTimeoutDueToLeaderFail or ErrTimeoutDueToConnectionLost (parseProposeCtxErr), and
 *   one interrupted by shutdown gets ErrStopped. The entry may still commit: indeterminate.
 * - ErrNoLeader comes from the require-leader interceptor (before the handler runs) and from
 *   waitLeader in lease renew/TTL forwarding; for KV writes and lease grants it is definite.
 *   A keep-alive forwarded to a leader that died mid-request may have renewed the lease, so
 *   for keep-alives it is indeterminate.
 * - ErrLeaderChanged is returned by reads (read index) and lease TTL lookups, never after a
 *   write was proposed as far as the code shows; not being sure, writes treat it as
 *   indeterminate.
 * - The client's own deadline (DEADLINE_EXCEEDED, or "context deadline exceeded" when it
 *   expired inside etcd) and a dropped connection say nothing about
 *   whether the server applied the request: indeterminate. The exceptions are errors raised
 *   before a transport was picked: "No connection established", "Channel closed before call
 *   started", REFUSED_STREAM (HTTP/2: the stream was not processed), and a deadline that
 *   expired "Waiting for LB pick".
 * - Anything unrecognised is indeterminate: a write that errored may still have happened.
 */

interface Rule {
  readonly errorClass: ErrorClass;
  readonly definite: boolean;
  readonly matches: (message: string) => boolean;
}

const includes =
  (...needles: string[]) =>
  (message: string): boolean =>
    needles.some((needle) => message.includes(needle));

const hasCode = (code: number, name: string) => (message: string) => message.startsWith(`${code} ${name}:`);

// Checked in order: etcd's own messages first, then the gRPC status from the transport.
const RULES: readonly Rule[] = [
  {
    errorClass: 'lease-not-found',
    definite: true,
    matches: includes('requested lease not found', 'is expired or revoked'),
  },
  { errorClass: 'server-timeout', definite: false, matches: includes('etcdserver: request timed out') },
  { errorClass: 'no-leader', definite: true, matches: includes('etcdserver: no leader') },
  { errorClass: 'not-leader', definite: true, matches: includes('etcdserver: not leader') },
  { errorClass: 'leader-changed', definite: false, matches: includes('etcdserver: leader changed') },
  { errorClass: 'proposal-dropped', definite: true, matches: includes('raft proposal dropped') },
  { errorClass: 'too-many-requests', definite: true, matches: includes('etcdserver: too many requests') },
  { errorClass: 'no-space', definite: true, matches: includes('database space exceeded') },
  { errorClass: 'stopped', definite: false, matches: includes('etcdserver: server stopped') },
  {
    errorClass: 'canceled',
    definite: false,
    matches: (m) =>
      includes('etcdserver: request cancelled', 'context canceled')(m) || hasCode(1, 'CANCELLED')(m),
  },
  // The client's deadline travels to etcd (grpc-timeout); when it expires inside etcd, Go's
  // context error comes back as "2 UNKNOWN: context deadline exceeded".
  { errorClass: 'timeout', definite: false, matches: includes('context deadline exceeded') },
  {
    errorClass: 'timeout',
    definite: true,
    matches: (m) => hasCode(4, 'DEADLINE_EXCEEDED')(m) && m.includes('Waiting for LB pick'),
  },
  { errorClass: 'timeout', definite: false, matches: hasCode(4, 'DEADLINE_EXCEEDED') },
  {
    errorClass: 'unreachable',
    definite: true,
    matches: (m) =>
      hasCode(14, 'UNAVAILABLE')(m) &&
      includes(
        'No connection established',
        'Channel closed before call started',
        'Stream refused by server',
      )(m),
  },
  {
    errorClass: 'connection-lost',
    definite: false,
    matches: (m) =>
      (hasCode(14, 'UNAVAILABLE')(m) &&
        includes('Connection dropped', 'ECONNRESET', 'EPIPE', 'Write error', 'Write failed', 'GOAWAY')(m)) ||
      (hasCode(13, 'INTERNAL')(m) && m.includes('Received RST_STREAM')),
  },
  { errorClass: 'unavailable', definite: false, matches: hasCode(14, 'UNAVAILABLE') },
  { errorClass: 'invalid-request', definite: true, matches: hasCode(3, 'INVALID_ARGUMENT') },
];

/** Maps an error thrown by an etcd3 call (or anything else) to an error class. */
export function classifyError(error: unknown): ErrorClassification {
  if (error instanceof ClientClosedError) return { errorClass: 'client-closed', definite: true };
  if (error instanceof EtcdLeaseInvalidError) return { errorClass: 'lease-not-found', definite: true };
  const message = error instanceof Error ? error.message : String(error);
  const rule = RULES.find((candidate) => candidate.matches(message));
  return rule === undefined
    ? { errorClass: 'other', definite: false }
    : { errorClass: rule.errorClass, definite: rule.definite };
}

/**
 * The outcome of an operation that errored. A read that errored had no effect: 'fail'. A
 * write is 'fail' only when the error proves it was not applied, else 'indeterminate'.
 */
export function failedOutcome(kind: OperationKind, classification: ErrorClassification): Outcome {
  if (!MUTATING_KINDS.has(kind)) return 'fail';
  if (kind === 'lease-keepalive' && classification.errorClass === 'no-leader') return 'indeterminate';
  return classification.definite ? 'fail' : 'indeterminate';
}
