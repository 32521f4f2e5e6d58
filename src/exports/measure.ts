// `etcd-lab/measure`: observers and statistics on a running cluster or a recorded history.
export * from '../measure/latency-stats.ts';
export { LeaderTracker, deriveLeaderChange, type LeaderObservation } from '../measure/leader-tracker.ts';
export { runElectionTrials, type ElectionTrial, type LeaderFault } from '../run/leader-loss-trials.ts';
export { summarizeElectionTrials, electionModel } from '../measure/election-summary.ts';
export { explainElection, type ExplainElectionOptions } from '../measure/election-explain.ts';
export {
  explainElectionFromLogs,
  summarizeRounds,
  type ElectionExplanation,
  type ElectionRound,
  type RefusalReason,
  type RoundsSummary,
} from '../measure/election-rounds.ts';
export { measureLeaseExpiry, type LeaseExpiry } from '../measure/lease-expiry.ts';
export { measureLeaseElectionFailover, type LeaseElectionFailover } from '../run/lease-election-failover.ts';
export { measureClientLeaseLoss } from '../measure/lease-loss.ts';
export { measureLeaseCheckpoint } from '../measure/lease-checkpoint.ts';
export { RunClock } from '../util/clock.ts';
