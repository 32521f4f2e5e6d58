// `etcd-lab/faults`: the faults alone — for code that brings its own cluster handle.
export type { Fault, FaultHandle, FaultContext, FaultCheck, FaultRecord } from '../faults/fault.ts';
export type { Role, TargetSpec } from '../faults/targets.ts';
export { DelayFault, type DelayOptions } from '../faults/network/delay.ts';
export { LossFault, type LossOptions } from '../faults/network/loss.ts';
export { BandwidthFault, type BandwidthOptions } from '../faults/network/bandwidth.ts';
export { PartitionFault, isolate, split, oneWay, bridge } from '../faults/network/partition.ts';
export { ProcessFault, kill, stop, pause, sigstop, restart } from '../faults/process/process-fault.ts';
export { CpuThrottleFault, type CpuThrottleOptions } from '../faults/resources/cpu-throttle.ts';
export { MoveLeaderFault, moveLeader, type MoveLeaderOptions } from '../faults/leadership/move-leader.ts';
export {
  FAULT_CATALOG,
  FAULT_KINDS,
  createFault,
  faultTraits,
  type FaultKind,
  type FaultKindEntry,
  type FaultSettings,
  type FaultTraits,
} from '../faults/catalog.ts';
export { findFaultResidue, assertNoFaultResidue, type Residue } from '../faults/residue.ts';
export { probeHostCapabilities, type HostCapabilities } from '../faults/capabilities.ts';
export { bindFaults, type FaultTarget, type FixtureFaults } from '../fixture/etcd-fixture.ts';
export { RunClock } from '../util/clock.ts';
export { FaultError } from '../errors.ts';
