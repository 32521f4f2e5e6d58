// The error classes on their own, so that a record (operation-record.ts) can name its class
// without importing the classifier, which needs the record's kinds: the two stay one-way.

/**
 * What went wrong with an operation, in a few classes that matter for measuring
 * availability and for deciding whether a failed write may still have been applied.
 */
export type ErrorClass =
  /** The client's own deadline (gRPC DEADLINE_EXCEEDED) ran out. */
  | 'timeout'
  /** etcd gave up waiting for its proposal to be applied ("etcdserver: request timed out…"). */
  | 'server-timeout'
  /** "etcdserver: no leader". */
  | 'no-leader'
  /** "etcdserver: not leader". */
  | 'not-leader'
  /** "etcdserver: leader changed" (a read index or lease lookup crossed a leader change). */
  | 'leader-changed'
  /** "raft proposal dropped": raft refused the proposal (no known leader, leader transfer). */
  | 'proposal-dropped'
  /** "etcdserver: too many requests": the apply loop is too far behind the commit index. */
  | 'too-many-requests'
  /** "database space exceeded": the NOSPACE alarm is raised. */
  | 'no-space'
  /** "etcdserver: requested lease not found", or a keep-alive answered with TTL 0. */
  | 'lease-not-found'
  /** "etcdserver: server stopped": the member shut down while handling the request. */
  | 'stopped'
  /** gRPC CANCELLED or "etcdserver: request cancelled". */
  | 'canceled'
  /** The request never left the client: no connection to the member. */
  | 'unreachable'
  /** The connection broke while the request was out. */
  | 'connection-lost'
  /** Other gRPC UNAVAILABLE. */
  | 'unavailable'
  /** etcd rejected the request as malformed or too large (gRPC INVALID_ARGUMENT). */
  | 'invalid-request'
  /** The etcd3 client was closed before the call. */
  | 'client-closed'
  /** Open-loop only: the operation was due but the in-flight cap was reached, so it was never sent. */
  | 'client-backlog'
  | 'other';

const ERROR_CLASS_SET: Readonly<Record<ErrorClass, true>> = {
  timeout: true,
  'server-timeout': true,
  'no-leader': true,
  'not-leader': true,
  'leader-changed': true,
  'proposal-dropped': true,
  'too-many-requests': true,
  'no-space': true,
  'lease-not-found': true,
  stopped: true,
  canceled: true,
  unreachable: true,
  'connection-lost': true,
  unavailable: true,
  'invalid-request': true,
  'client-closed': true,
  'client-backlog': true,
  other: true,
};

export const ERROR_CLASSES = Object.keys(ERROR_CLASS_SET) as readonly ErrorClass[];
