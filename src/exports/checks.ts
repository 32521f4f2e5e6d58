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
export { History, saveHistory, loadHistory } from '../history/history.ts';
export type { OperationRecord } from '../history/operation-record.ts';
