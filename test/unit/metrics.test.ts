import { describe, expect, it } from 'vitest';
import { metricValue } from '../../src/measure/metrics.ts';

const TEXT = `# HELP etcd_debugging_lease_renewed_total The number of renewed leases seen by the leader.
# TYPE etcd_debugging_lease_renewed_total counter
etcd_debugging_lease_renewed_total 42
etcd_network_peer_round_trip_time_seconds_bucket{To="7fd0",le="0.0001"} 3
etcd_network_peer_round_trip_time_seconds_sum{To="7fd0"} 0.25
etcd_network_peer_round_trip_time_seconds_sum{To="a2a6"} 0.5
etcd_server_has_leader 1
`;

describe('reading Prometheus text', () => {
  it('reads an unlabelled sample', () => {
    expect(metricValue(TEXT, 'etcd_debugging_lease_renewed_total')).toBe(42);
    expect(metricValue(TEXT, 'etcd_server_has_leader')).toBe(1);
  });
  it('sums samples matching the given labels, and does not confuse name prefixes', () => {
    expect(metricValue(TEXT, 'etcd_network_peer_round_trip_time_seconds_sum')).toBe(0.75);
    expect(metricValue(TEXT, 'etcd_network_peer_round_trip_time_seconds_sum', { To: 'a2a6' })).toBe(0.5);
    expect(metricValue(TEXT, 'etcd_network_peer_round_trip_time_seconds')).toBeNaN();
  });
  it('returns NaN for a metric that is not there', () => {
    expect(metricValue(TEXT, 'etcd_server_leader_changes_seen_total')).toBeNaN();
  });
});
