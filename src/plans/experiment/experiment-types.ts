import type { AcknowledgedWritesResult } from '../../checks/acknowledged-writes.ts';
import type { LinearizabilityOutcome } from '../../checks/linearizable-history.ts';
import type { WatchOutcome } from '../../checks/watch-history.ts';
import type { FaultHandle, FaultRecord } from '../../faults/fault.ts';
import type { History } from '../../history/history.ts';
import type { LeaderChange, LeaderObservation } from '../../measure/leader-tracker.ts';
import type {
  LatencySummary,
  OperationsSummary,
  TimeBucket,
  WindowComparison,
} from '../../measure/latency-stats.ts';
import type { LeaseElectionFailover } from '../../run/lease-election-failover.ts';
import type { ElectionExplanation } from '../../measure/election-rounds.ts';
import type { ResultsEnvelope } from '../../run/results-envelope.ts';
import type { KindOfInterest, PeerRttObservation, SuccessRatio } from './step-measurements.ts';
import type { ExperimentSpec, FaultStep } from './spec.ts';

/**
 * The shapes an experiment run shares between its parts: what the runner is given, the state of
 * a step while it runs, and the result. Imports go one way: spec → these types → analysis
 * (step-analysis.ts, hypothesis.ts) → the runner (run-fault-experiment.ts, run-experiment.ts).
 */

/** A step of the method that did not run, and why. */
export interface NotRunStep {
  /** Position in the (expanded) method, from 0. */
  readonly index: number;
  readonly at: number;
  readonly reason: string;
}

export interface StepResult {
  readonly step: FaultStep;
  /**
   * How much later than its `at` the step went in: a repetition waits until the previous one is
   * healed and its member caught up, then for a stable leader. Absent in older results.
   */
  readonly startedLateMs?: number;
  /** For a load step (traffic, burst) a record of the extra clients: mechanism 'lab-clients'. */
  readonly fault: FaultRecord;
  /** From when the fault was in place to its heal (or the end of the workload). */
  readonly window: { readonly fromMs: number; readonly toMs: number };
  /** Whether the step's targets included the leader of the moment. */
  readonly leaderTargeted: boolean;
  /** The leader and its term when the step was injected (load steps: empty name, term 0). */
  readonly leaderBefore: { readonly name: string; readonly term: number };
  readonly leaderChange: LeaderChange | null;
  /** Faults that took the leader: the election from the members' own logs (rounds, campaigns, refusals, why). */
  readonly election: ElectionExplanation | null;
  /** Majority-agreed new leaderships first seen inside the window. */
  readonly leaderChangesInWindow: number;
  /** Longest gap between successful writes around this fault, relative to it. */
  readonly writeStall: { readonly durationMs: number; readonly startRelativeToFaultMs: number } | null;
  /** The main workload inside the window, as its callers saw it, and against the time before any fault. */
  readonly workload: OperationsSummary | null;
  readonly vsBaseline: WindowComparison | null;
  readonly success: Record<KindOfInterest, SuccessRatio> | null;
  /** The clients of the other load steps (traffic, burst), operations started inside the window; null without any. */
  readonly loadSuccess: SuccessRatio | null;
  /** The workload inside the window by the member that answered (successful operations only; member names). */
  readonly byAnsweringMember: Readonly<Record<string, LatencySummary>>;
  /** Process faults: from the heal until the member had applied what was committed while it was away. */
  readonly catchUpMs: number | null | undefined;
  /** Delay faults: what etcd's metrics and the lab's probe saw of the slow links. */
  readonly peerRtt: PeerRttObservation | null;
  /** Load steps: the extra clients' own operations, as their callers saw them. */
  readonly load: OperationsSummary | null;
}

/**
 * What an experiment adds to the results envelope (src/run/results-envelope.ts): its spec, the
 * steps, the workload in windows around the faults, recovery and the lost-writes check.
 */
export interface ExperimentPayload {
  readonly experiment: ExperimentSpec;
  readonly steps: readonly StepResult[];
  /** Steps of the method that did not run, and why (absent in older results). */
  readonly notRun?: readonly NotRunStep[];
  /** The main workload as its callers saw it (retries folded), in windows around the faults. */
  readonly workload: {
    readonly baseline: OperationsSummary;
    readonly duringFault: OperationsSummary;
    readonly afterHeal: OperationsSummary;
    readonly duringVsBaseline: WindowComparison;
    readonly afterVsBaseline: WindowComparison;
    readonly timeline: readonly TimeBucket[];
    /** Calls made, retries included. */
    readonly attempts: number;
  } | null;
  readonly recoveryMs: number | null;
  readonly acknowledgedWrites: AcknowledgedWritesResult | null;
  /** `linearizable` in the hypothesis: the checker's answer (null: not asked for, or no workload ran; absent in older results). */
  readonly linearizability?: LinearizabilityOutcome | null;
  /**
   * `workload.watchers`: the watch checker's answer over the guarantees `watch` names (all six
   * when not asked); the streams themselves are in watches.jsonl. null: no watchers, or no
   * workload ran; absent in older results.
   */
  readonly watch?: WatchOutcome | null;
  readonly leaderObservations: readonly LeaderObservation[];
  /** Lease-election experiments: one failover per TTL and trial. */
  readonly leaseElection: readonly LeaseElectionFailover[] | null;
}

/** An experiment's result.json: the envelope (status, verdict, environment, checks) and the payload. */
export type ExperimentResult = ResultsEnvelope<'experiment'> & ExperimentPayload;

export interface RunOptions {
  readonly image?: string;
  readonly seed?: number;
  readonly signal?: AbortSignal;
  /** Receives the history as it grows, e.g. to stream it to disk. */
  readonly history?: History;
}

/** A step of the method as it runs: its fault's handle (null for a load step) and what was measured around it. */
export interface ActiveStep {
  readonly index: number;
  readonly step: FaultStep;
  readonly handle: FaultHandle | null;
  readonly leaderBefore: { readonly id: string; readonly name: string; readonly term: number };
  record?: FaultRecord;
  /** How much later than its `at` the step went in (a repetition waits for the previous one). */
  readonly startedLateMs?: number;
  catchUpMs?: number | null;
  peerRtt?: PeerRttObservation | null;
}
