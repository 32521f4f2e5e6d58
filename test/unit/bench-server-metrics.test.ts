import { describe, expect, it } from 'vitest';
import { serverStatsBetween } from '../../bench/lib/server-metrics.ts';

const scrape = (putCount: number, putSeconds: number, fsyncs: number, fsyncSeconds: number): string =>
  [
    '# TYPE grpc_server_handling_seconds histogram',
    `grpc_server_handling_seconds_sum{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} ${putSeconds}`,
    `grpc_server_handling_seconds_count{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} ${putCount}`,
    'grpc_server_handling_seconds_sum{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 99',
    'grpc_server_handling_seconds_count{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 99',
    `etcd_disk_wal_fsync_duration_seconds_sum ${fsyncSeconds}`,
    `etcd_disk_wal_fsync_duration_seconds_count ${fsyncs}`,
  ].join('\n');

describe('server-side figures between two scrapes', () => {
  it('takes per-member differences and sums them before dividing (a weighted mean)', () => {
    const before = [scrape(10, 1, 100, 0.1), scrape(0, 0, 100, 0.1)];
    // member 1: 100 Puts in 0.5 s; member 2: 300 Puts in 2.5 s → 400 Puts in 3 s = 7.5 ms each.
    const after = [scrape(110, 1.5, 300, 0.3), scrape(300, 2.5, 500, 0.8)];
    const stats = serverStatsBetween(before, after);
    expect(stats.puts).toBe(400);
    expect(stats.putMeanMs).toBeCloseTo(7.5, 9);
    expect(stats.walFsyncs).toBe(600);
    expect(stats.walFsyncMeanMs).toBeCloseTo(1.5, 9);
  });

  it('gives no Put mean without extensive metrics or without Puts', () => {
    const basic = 'etcd_disk_wal_fsync_duration_seconds_sum 1\netcd_disk_wal_fsync_duration_seconds_count 10';
    expect(serverStatsBetween([basic], [basic])).toEqual({
      puts: 0,
      putMeanMs: null,
      walFsyncs: 0,
      walFsyncMeanMs: null,
    });
  });

  it('refuses scrapes that do not pair up member by member', () => {
    expect(() => serverStatsBetween(['a'], ['a', 'b'])).toThrow(/one scrape per member/);
  });
});
