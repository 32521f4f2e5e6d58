// What etcd itself measured between two scrapes of every member's /metrics (pure): the
// server's own time per Put (needs `--metrics=extensive`, which adds gRPC handling-time
// histograms) and per WAL fsync. The server side is the same whichever client sends the
// load, so it is the yardstick both load drivers can be held against.
import { metricValue } from '../../src/measure/metrics.ts';

export interface ServerSideStats {
  /** Puts the members finished handling (all members together). */
  readonly puts: number;
  /** Mean time a member spent on a Put, receipt to answer (a follower includes forwarding). Null without extensive metrics. */
  readonly putMeanMs: number | null;
  readonly walFsyncs: number;
  /** Mean WAL fsync (etcd calls fdatasync) as etcd timed it. */
  readonly walFsyncMeanMs: number | null;
}

const PUT = { grpc_method: 'Put', grpc_type: 'unary' } as const;

/** `before` and `after` hold one scrape per member, in the same member order. */
export function serverStatsBetween(before: readonly string[], after: readonly string[]): ServerSideStats {
  if (before.length !== after.length) {
    throw new RangeError(
      `need one scrape per member before and after, got ${before.length} and ${after.length}`,
    );
  }
  const delta = (name: string, labels: Readonly<Record<string, string>> = {}): number =>
    after.reduce(
      (sum, text, i) => sum + metricValue(text, name, labels) - metricValue(before[i] ?? '', name, labels),
      0,
    );
  const puts = delta('grpc_server_handling_seconds_count', PUT);
  const putSeconds = delta('grpc_server_handling_seconds_sum', PUT);
  const walFsyncs = delta('etcd_disk_wal_fsync_duration_seconds_count');
  const walSeconds = delta('etcd_disk_wal_fsync_duration_seconds_sum');
  const meanMs = (seconds: number, count: number): number | null =>
    Number.isFinite(seconds) && count > 0 ? (1_000 * seconds) / count : null;
  return {
    puts: Number.isFinite(puts) ? puts : 0,
    putMeanMs: meanMs(putSeconds, puts),
    walFsyncs: Number.isFinite(walFsyncs) ? walFsyncs : 0,
    walFsyncMeanMs: meanMs(walSeconds, walFsyncs),
  };
}
