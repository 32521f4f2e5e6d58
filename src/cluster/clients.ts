import { noop } from 'cockatiel';
import { Etcd3, type IOptions } from 'etcd3';

export interface ClientOptions {
  /**
   * Let etcd3 retry failed calls and open its per-host circuit breaker (its defaults).
   * Off by default: a measurement must see each failure, not have it hidden by retries.
   */
  readonly retries?: boolean;
  /** Deadline for each call. Default 5 s. */
  readonly callTimeoutMs?: number;
  /** How long to wait for a connection. Default 2 s. */
  readonly dialTimeoutMs?: number;
  /**
   * Give streams (watches, lease keep-alives) the call deadline too. Default true, as before:
   * etcd3 passes its default call options to streams as well, so a watch would end every
   * `callTimeoutMs` with DEADLINE_EXCEEDED and reconnect. A watch recorder sets false.
   */
  readonly deadlineOnStreams?: boolean;
}

/**
 * gRPC's default reconnect backoff grows to two minutes; after a member restarts the
 * client would sit out most of that and the lab would measure its own backoff, not etcd.
 * Capped at 250 ms: the leader tracker polls a killed member throughout its downtime, and with
 * a 1 s cap the first poll after its restart could still wait most of a second. Reconnecting
 * four times a second to a member on this host costs nothing measurable.
 */
const FAST_RECONNECT = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 250,
} as const;

export function createEtcdClient(endpoints: readonly string[], options: ClientOptions = {}): Etcd3 {
  const { retries = false, callTimeoutMs = 5_000, dialTimeoutMs = 2_000, deadlineOnStreams = true } = options;
  const clientOptions: IOptions = {
    hosts: [...endpoints],
    dialTimeout: dialTimeoutMs,
    grpcOptions: FAST_RECONNECT,
    defaultCallOptions: (context) =>
      context.isStream && !deadlineOnStreams ? {} : { deadline: Date.now() + callTimeoutMs },
    ...(retries ? {} : { faultHandling: { host: () => noop, global: noop } }),
  };
  return new Etcd3(clientOptions);
}
