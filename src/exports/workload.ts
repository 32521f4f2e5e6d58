// `etcd-lab/workload`: load against a cluster, and the history every call is recorded in.
export { runWorkload } from '../workload/run-workload.ts';
export { History, saveHistory, loadHistory } from '../history/history.ts';
export type { OperationRecord } from '../history/operation-record.ts';
export { RunClock } from '../util/clock.ts';
