import { castGrpcError, ClientClosedError, EtcdLeaseInvalidError } from 'etcd3';
import { describe, expect, it } from 'vitest';

import { classifyError, failedOutcome, type ErrorClass } from '../../src/history/error-classification.ts';

/** What etcd3 throws for a gRPC status: grpc-js's error, cast by etcd3 to its typed hierarchy. */
function grpcError(code: number, name: string, details: string): Error {
  return castGrpcError(Object.assign(new Error(`${code} ${name}: ${details}`), { code, details }));
}

// [what happened, the error, class, definite (proves the write was not applied)]
const TABLE: readonly (readonly [string, unknown, ErrorClass, boolean])[] = [
  [
    'client deadline, request on the wire',
    grpcError(
      4,
      'DEADLINE_EXCEEDED',
      'Deadline exceeded after 5.001s,LB pick: 0.001s,remote_addr=127.0.0.1:2379',
    ),
    'timeout',
    false,
  ],
  [
    'client deadline, never got a connection',
    grpcError(4, 'DEADLINE_EXCEEDED', 'Deadline exceeded after 2.002s,Waiting for LB pick'),
    'timeout',
    true,
  ],
  [
    'client deadline expired inside etcd',
    grpcError(2, 'UNKNOWN', 'context deadline exceeded'),
    'timeout',
    false,
  ],
  ['client cancelled, seen inside etcd', grpcError(2, 'UNKNOWN', 'context canceled'), 'canceled', false],
  [
    'etcd proposal timeout',
    grpcError(14, 'UNAVAILABLE', 'etcdserver: request timed out'),
    'server-timeout',
    false,
  ],
  [
    'etcd timeout after leader failure',
    grpcError(14, 'UNAVAILABLE', 'etcdserver: request timed out, possibly due to previous leader failure'),
    'server-timeout',
    false,
  ],
  [
    'etcd timeout, connection lost',
    grpcError(14, 'UNAVAILABLE', 'etcdserver: request timed out, possibly due to connection lost'),
    'server-timeout',
    false,
  ],
  ['no leader', grpcError(14, 'UNAVAILABLE', 'etcdserver: no leader'), 'no-leader', true],
  ['not leader', grpcError(9, 'FAILED_PRECONDITION', 'etcdserver: not leader'), 'not-leader', true],
  ['leader changed', grpcError(14, 'UNAVAILABLE', 'etcdserver: leader changed'), 'leader-changed', false],
  ['raft dropped the proposal', grpcError(2, 'UNKNOWN', 'raft proposal dropped'), 'proposal-dropped', true],
  [
    'apply loop behind',
    grpcError(8, 'RESOURCE_EXHAUSTED', 'etcdserver: too many requests'),
    'too-many-requests',
    true,
  ],
  [
    'NOSPACE alarm',
    grpcError(8, 'RESOURCE_EXHAUSTED', 'etcdserver: mvcc: database space exceeded'),
    'no-space',
    true,
  ],
  ['lease gone', grpcError(5, 'NOT_FOUND', 'etcdserver: requested lease not found'), 'lease-not-found', true],
  ['keep-alive answered TTL 0', new EtcdLeaseInvalidError('7587869385214146'), 'lease-not-found', true],
  ['member shutting down', grpcError(14, 'UNAVAILABLE', 'etcdserver: server stopped'), 'stopped', false],
  ['cancelled on client', grpcError(1, 'CANCELLED', 'Cancelled on client'), 'canceled', false],
  ['cancelled by etcd', grpcError(1, 'CANCELLED', 'etcdserver: request cancelled'), 'canceled', false],
  [
    'member down',
    grpcError(
      14,
      'UNAVAILABLE',
      'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:32771',
    ),
    'unreachable',
    true,
  ],
  ['channel closed', grpcError(14, 'UNAVAILABLE', 'Channel closed before call started'), 'unreachable', true],
  ['refused stream', grpcError(14, 'UNAVAILABLE', 'Stream refused by server'), 'unreachable', true],
  ['connection dropped', grpcError(14, 'UNAVAILABLE', 'Connection dropped'), 'connection-lost', false],
  ['connection reset', grpcError(14, 'UNAVAILABLE', 'read ECONNRESET'), 'connection-lost', false],
  [
    'stream reset',
    grpcError(
      13,
      'INTERNAL',
      'Received RST_STREAM with code 2 triggered by internal client error: Protocol error',
    ),
    'connection-lost',
    false,
  ],
  ['other unavailable', grpcError(14, 'UNAVAILABLE', 'etcdserver: unhealthy cluster'), 'unavailable', false],
  [
    'request too large',
    grpcError(3, 'INVALID_ARGUMENT', 'etcdserver: request is too large'),
    'invalid-request',
    true,
  ],
  ['client closed', new ClientClosedError('KV'), 'client-closed', true],
  ['unknown error', new Error('something unexpected'), 'other', false],
  ['not even an Error', 'a string', 'other', false],
];

describe('error classification', () => {
  it.each(TABLE)('%s', (_what, error, errorClass, definite) => {
    expect(classifyError(error)).toEqual({ errorClass, definite });
  });

  it('fails reads whatever the error, and fails writes only when the error proves they were not applied', () => {
    const timeout = classifyError(grpcError(4, 'DEADLINE_EXCEEDED', 'Deadline exceeded after 5s'));
    const noLeader = classifyError(grpcError(14, 'UNAVAILABLE', 'etcdserver: no leader'));
    const other = classifyError(new Error('?'));

    expect(failedOutcome('get', timeout)).toBe('fail');
    expect(failedOutcome('get', other)).toBe('fail');
    for (const kind of ['put', 'delete', 'txn', 'lease-grant'] as const) {
      expect(failedOutcome(kind, timeout), kind).toBe('indeterminate');
      expect(failedOutcome(kind, other), kind).toBe('indeterminate');
      expect(failedOutcome(kind, noLeader), kind).toBe('fail');
    }
    // A keep-alive forwarded to a leader that then failed may have renewed the lease.
    expect(failedOutcome('lease-keepalive', noLeader)).toBe('indeterminate');
  });
});
