import type { FaultKind } from '../faults/catalog.ts';
import type { ElectionExplanation } from './election-rounds.ts';

/**
 * A leader-loss trial as data: what src/run/leader-loss-trials.ts records each time it takes the
 * leader away, and what the summaries and reports here read.
 */

/**
 * How the leader is taken away in a trial: SIGKILL, cgroup freeze, graceful stop (SIGTERM,
 * the leader hands over first), or network isolation from the other members (the process
 * keeps running and still answers the lab; it steps down by CheckQuorum after an election
 * timeout).
 */
export type LeaderFault = Extract<FaultKind, 'kill' | 'pause' | 'stop' | 'isolate'>;

/** Catalog kinds whose trait is to take the leader they hit (test/unit/fault-catalog.test.ts checks it). */
export const LEADER_FAULTS: readonly LeaderFault[] = ['kill', 'pause', 'stop', 'isolate'];

/** One leader-loss trial; times are ms on the run clock, `…AfterFaultMs` relative to the fault. */
export interface ElectionTrial {
  readonly trial: number;
  readonly fault: LeaderFault;
  readonly oldLeader: string;
  readonly previousTerm: number;
  /** Members that stayed up and connected: the ones that elect the next leader. */
  readonly survivors: readonly string[];
  /** When the lab asked for the fault (Docker call, signal, or iptables rules). */
  readonly faultRequestedAtMs: number;
  /**
   * The reference for every `…AfterFaultMs`: for kill, when the signal was sent; for pause,
   * when the lab asked Docker to freeze it (the freeze held within `faultSpreadMs`); for a
   * graceful stop, the request, since the leader starts handing over at once; for isolate,
   * when the lab started installing the DROP rules (each follower was cut off when its own
   * rule landed, within `faultSpreadMs` after this).
   */
  readonly faultAtMs: number;
  /**
   * How long the fault took to be fully in place after `faultAtMs`: 0 for a signal or a stop,
   * Docker's pause call for pause, the rule installation for isolate. Times after the fault
   * may be late by up to this.
   */
  readonly faultSpreadMs: number;
  /** From the members' logs: first survivor to start campaigning (pre-vote or vote). */
  readonly firstCampaignAfterFaultMs: number | undefined;
  /** From the members' logs: first survivor to log the new leader. */
  readonly logElectedAfterFaultMs: number | undefined;
  /** From the tracker: first poll showing a member following a new leader. */
  readonly trackerNewLeaderAfterFaultMs: number | undefined;
  /** From the tracker: a majority of the membership follows the new leader. */
  readonly majorityAgreesAfterFaultMs: number | undefined;
  /** First write sent after the fault that succeeded, at its return. */
  readonly firstWriteOkAfterFaultMs: number | undefined;
  /** Tracker's new-leader time minus the log's (positive: the tracker saw it later). */
  readonly trackerErrorMs: number | undefined;
  /**
   * The streamed logs' detection error: when the first line naming the new leader reached the
   * lab minus the member's own timestamp on it. Undefined when that line came before following
   * began or not at all. Optional: trials recorded before logs were streamed do not have it.
   */
  readonly logStreamErrorMs?: number | undefined;
  /**
   * Where the streamed lines came from: etcd's log file read from the host, or Docker's
   * stream (see LogStreamSource); "mixed" when the survivors differed. Optional: older trials lack it.
   */
  readonly logStreamSource?: 'log file' | 'docker' | 'mixed' | undefined;
  readonly newLeader: string | undefined;
  readonly newTerm: number | undefined;
  /**
   * Ground truth from each survivor's /metrics: `etcd_server_leader_changes_seen_total` after
   * the election minus before the fault. One clean election is exactly 1 per survivor (etcd
   * counts a change to a non-empty leader; the leaderless gap does not count). Null when the
   * member's metrics could not be read.
   */
  readonly leaderChangesSeen: Readonly<Record<string, number | null>>;
  /** `etcd_server_has_leader` was 1 on every survivor after the election. */
  readonly survivorsHaveLeader: boolean;
  /**
   * From the survivors' logs: the election's rounds (terms), who campaigned, who voted for whom
   * and why votes were refused. Always set by runElectionTrials; optional so that trials recorded
   * before it existed (older result files) still read.
   */
  readonly explanation?: ElectionExplanation;
  /**
   * Where the trial's wall time went, in ms. Optional: older result files lack it.
   */
  readonly turnaroundMs?: TrialTurnaround;
}

/** The phases of one trial, in ms of wall time; together they are the trial's whole turnaround. */
export interface TrialTurnaround {
  /** A stable leader, members caught up, a few heartbeats, the survivors' logs and the write probe set up. */
  readonly prepare: number;
  /** From the fault request until a majority follows a new leader and a write succeeded (or the trial timed out). */
  readonly election: number;
  /** The survivors' metrics settled, the election's log lines arrived, the election explained. */
  readonly record: number;
  /** The fault healed, every member back and caught up. */
  readonly restore: number;
}
