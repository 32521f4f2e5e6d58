// The lab's public API for use in your own tests and scripts: `import { EtcdCluster } from 'etcd-lab'`.
// Subpaths hold parts of it (etcd-lab/faults, /measure, /checks, /workload, /plans; see
// src/exports/), and etcd-lab/vitest the test fixtures. Nothing else is reachable from an installed
// copy: package.json's `exports` lists these entry points only.
export { EtcdCluster, type DataDirKind } from './cluster/etcd-cluster.ts';
export {
  StartedEtcdCluster,
  parseEtcdLog,
  type ClusterDescription,
  type MemberStatus,
  type StableLeader,
  type EtcdLogEntry,
  type WaitOptions,
} from './cluster/started-etcd-cluster.ts';
export { EtcdMember, type MemberState } from './cluster/etcd-member.ts';
export {
  ETCD_DEFAULTS,
  etcdOptionsSchema,
  resolveEtcdOptions,
  type EtcdOptions,
  type ResolvedEtcdOptions,
} from './cluster/etcd-options.ts';
export { createEtcdClient, type ClientOptions } from './cluster/clients.ts';
export { prepareHost, type HostReport } from './host/prepare-host.ts';
export {
  obtainEtcdImage,
  type ObtainEtcdImageOptions,
  type ObtainedEtcdImage,
} from './host/images/obtain-etcd-image.ts';
export { etcdVersionCatalog, type EtcdVersionCatalog } from './host/images/version-catalog.ts';
export type { EtcdImageProvenance, EtcdImageSource } from './host/images/provenance.ts';
export { sweepLeftovers, installExitHandlers } from './host/cleanup.ts';
export {
  startEtcdFixture,
  bindFaults,
  type EtcdFixture,
  type EtcdFixtureOptions,
  type FaultTarget,
  type FixtureFaults,
} from './fixture/etcd-fixture.ts';
export { resetCluster, type ResetOptions, type ResetReport } from './fixture/reset-cluster.ts';
export { probeHostCapabilities, type HostCapabilities } from './faults/capabilities.ts';
export * from './errors.ts';
export * from './measure/latency-stats.ts';
export * from './plans/quorum/model.ts';
export type { QuorumMatrixOptions } from './plans/quorum/quorum-options.ts';
export { runQuorumMatrix, type QuorumMatrixResult } from './plans/quorum/run-matrix.ts';
export { runAvailability, type AvailabilityResult } from './plans/quorum/run-availability.ts';
export { predictCell, leaderFromStatuses, type MatrixCell, type Mechanism } from './plans/quorum/matrix.ts';
export { runQuorumClaims, type QuorumClaimsResult } from './plans/quorum/run-quorum-claims.ts';
export { RunClock } from './util/clock.ts';
export type { Fault, FaultHandle, FaultContext, FaultCheck, FaultRecord } from './faults/fault.ts';
export type { Role, TargetSpec } from './faults/targets.ts';
export { DelayFault, type DelayOptions } from './faults/network/delay.ts';
export { LossFault, type LossOptions } from './faults/network/loss.ts';
export { BandwidthFault, type BandwidthOptions } from './faults/network/bandwidth.ts';
export { PartitionFault, isolate, split, oneWay, bridge } from './faults/network/partition.ts';
export { ProcessFault, kill, stop, pause, sigstop, restart } from './faults/process/process-fault.ts';
export { CpuThrottleFault, type CpuThrottleOptions } from './faults/resources/cpu-throttle.ts';
export { MoveLeaderFault, moveLeader, type MoveLeaderOptions } from './faults/leadership/move-leader.ts';
export {
  FAULT_CATALOG,
  FAULT_KINDS,
  createFault,
  faultTraits,
  type FaultKind,
  type FaultKindEntry,
  type FaultSettings,
  type FaultTraits,
} from './faults/catalog.ts';
export { findFaultResidue, assertNoFaultResidue, type Residue } from './faults/residue.ts';
export { LeaderTracker, deriveLeaderChange, type LeaderObservation } from './measure/leader-tracker.ts';
export { runElectionTrials, type ElectionTrial, type LeaderFault } from './run/leader-loss-trials.ts';
export { explainElection, type ExplainElectionOptions } from './measure/election-explain.ts';
export {
  explainElectionFromLogs,
  summarizeRounds,
  type ElectionExplanation,
  type ElectionRound,
  type RefusalReason,
  type RoundsSummary,
} from './measure/election-rounds.ts';
export { measureLeaseExpiry, type LeaseExpiry } from './measure/lease-expiry.ts';
export { measureLeaseElectionFailover, type LeaseElectionFailover } from './run/lease-election-failover.ts';
export { runWorkload } from './workload/run-workload.ts';
export { History, saveHistory, loadHistory } from './history/history.ts';
export type { OperationRecord } from './history/operation-record.ts';
export { summarizeElectionTrials, electionModel } from './measure/election-summary.ts';
export { measureClientLeaseLoss } from './measure/lease-loss.ts';
export { measureLeaseCheckpoint } from './measure/lease-checkpoint.ts';
export { runExperiment, type ExperimentResult } from './plans/experiment/run-experiment.ts';
export { loadExperiment } from './plans/experiment/experiment-files.ts';
export { validateExperiment, type ExperimentSpec } from './plans/experiment/spec.ts';
export { writeResults } from './plans/experiment/report/write-results.ts';
export {
  runVersionMatrix,
  type VersionRun,
  type VersionMatrixOptions,
} from './plans/experiment/run-version-matrix.ts';
export {
  compareVersions,
  renderVersionComparison,
  type VersionComparison,
  type VersionColumn,
  type ComparedRun,
} from './plans/experiment/report/version-comparison.ts';
export { writeVersionComparison } from './plans/experiment/report/write-version-comparison.ts';
export { checkAcknowledgedWrites, acknowledgedWritesCheck } from './checks/acknowledged-writes.ts';
export {
  combineVerdicts,
  runVerdict,
  type Check,
  type CheckStatistics,
  type Verdict,
} from './checks/check.ts';
export {
  RESULTS_SCHEMA_VERSION,
  writeEnvelope,
  renderJunit,
  type ResultsEnvelope,
  type RunEnvironment,
  type PlanKind,
  type RunStatus,
} from './run/results-envelope.ts';
export {
  loadSweep,
  validateSweep,
  planCells,
  listSweepFiles,
  type SweepSpec,
  type SweepCell,
} from './plans/sweep/spec.ts';
export { runSweep, type SweepRunOptions } from './plans/sweep/run-sweep.ts';
export type { CellResult } from './plans/sweep/run-cell.ts';
export type { SweepResult } from './plans/sweep/sweep-result.ts';
export { checkRecordedHistory, linearizabilityCheck } from './checks/linearizable-history.ts';
export {
  checkWatches,
  truthFromRecords,
  truthFromEvents,
  watchGuaranteesCheck,
  type WatchCheckResult,
  type WatcherHistory,
  type WriteTruth,
} from './checks/watch/index.ts';
export {
  checkExclusivity,
  exclusivityCheck,
  type ExclusivityResult,
  type Tenure,
  type OwnershipTruth,
} from './checks/exclusivity/index.ts';
