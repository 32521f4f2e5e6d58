// `etcd-lab/checks`: verdicts on recorded histories (no Docker needed).
export {
  combineVerdicts,
  runVerdict,
  type Check,
  type CheckStatistics,
  type Verdict,
} from '../checks/check.ts';
export { checkAcknowledgedWrites, acknowledgedWritesCheck } from '../checks/acknowledged-writes.ts';
export { checkRecordedHistory, linearizabilityCheck } from '../checks/linearizable-history.ts';
export {
  checkWatches,
  truthFromRecords,
  truthFromEvents,
  watchGuaranteesCheck,
  type WatchCheckResult,
  type WatcherHistory,
  type WriteTruth,
} from '../checks/watch/index.ts';
export {
  checkExclusivity,
  exclusivityCheck,
  type ExclusivityResult,
  type Tenure,
  type OwnershipTruth,
} from '../checks/exclusivity/index.ts';
export { History, saveHistory, loadHistory } from '../history/history.ts';
export type { OperationRecord } from '../history/operation-record.ts';
