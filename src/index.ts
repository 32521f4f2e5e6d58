// The lab's public API for use in your own tests and scripts.
export { EtcdCluster, type DataDirKind } from './cluster/etcd-cluster.ts';
export {
  StartedEtcdCluster,
  parseEtcdLog,
  type MemberStatus,
  type StableLeader,
  type EtcdLogEntry,
  type WaitOptions,
} from './cluster/started-etcd-cluster.ts';
export { EtcdMember, type MemberState } from './cluster/etcd-member.ts';
export type { EtcdOptions } from './cluster/etcd-options.ts';
export { createEtcdClient, type ClientOptions } from './cluster/clients.ts';
export { prepareHost, type HostReport } from './host/prepare-host.ts';
export { sweepLeftovers, installExitHandlers } from './host/cleanup.ts';
export { probeHostCapabilities, type HostCapabilities } from './faults/capabilities.ts';
export * from './errors.ts';
export * from './measure/latency-stats.ts';
export * from './quorum/model.ts';
export { RunClock } from './util/clock.ts';
