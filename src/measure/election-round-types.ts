/**
 * What an explained election is made of: rounds (one per term campaigned for), campaigns, votes
 * and refusals with their reasons. Built by election-rounds.ts from the members' logs, summed up
 * by election-rounds-summary.ts.
 */
import type { EtcdLogEntry } from '../cluster/etcd-log.ts';
import type { LogPosition, VotePhase } from './election-log.ts';

/**
 * Why a member did not give a candidate its vote:
 * - 'log-not-up-to-date': the candidate's last log entry is older than the voter's (Raft's
 *   election restriction) — this candidate cannot get this voter's vote in any term;
 * - 'in-lease': the voter heard from its leader less than an election timeout ago and ignores
 *   the request without even raising its term (etcd's CheckQuorum leader lease);
 * - 'already-voted': the voter voted for someone else (often itself) in that term;
 * - 'other': anything else (the voter already follows a leader in that term, a request from an
 *   older term, or a rejection only the candidate logged).
 */
export type RefusalReason = 'log-not-up-to-date' | 'in-lease' | 'already-voted' | 'other';

export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'log-not-up-to-date',
  'in-lease',
  'already-voted',
  'other',
];

/** A member that became (pre-)candidate for a round's term. */
export interface Campaign {
  readonly member: string;
  /** 'pre-vote': a pre-candidate asking whether it could win, without raising its term. */
  readonly phase: VotePhase;
  /** Relative to the fault. */
  readonly afterFaultMs: number;
  /** The candidate's last log entry as it sent its requests (absent if those lines are missing). */
  readonly log?: LogPosition;
}

/** A vote given to a candidate by another member (a candidate's vote for itself is not listed). */
export interface Vote {
  readonly voter: string;
  readonly candidate: string;
  readonly phase: VotePhase;
  readonly afterFaultMs: number;
}

export interface Refusal {
  readonly voter: string;
  readonly candidate: string;
  readonly phase: VotePhase;
  readonly reason: RefusalReason;
  /** The reason in words, e.g. "log not up to date: m2 is behind (5/2710 < 5/2711)". */
  readonly detail: string;
  readonly afterFaultMs: number;
  readonly voterLog?: LogPosition;
  readonly candidateLog?: LogPosition;
  /** in-lease: election ticks the voter still had before it would give up on its leader. */
  readonly remainingTicks?: number;
}

/**
 * How a round (a term) ended: won; split vote (two or more members were candidates in the
 * term, each keeping its own vote); refused (one candidate, answered with refusals); pre-vote
 * failed (nobody got far enough to raise the term); unanswered (no answer in the logs).
 */
export type RoundOutcome = 'won' | 'split-vote' | 'refused' | 'pre-vote-failed' | 'unanswered';

/** One term campaigned for between the old leader's term and the new leader's. */
export interface ElectionRound {
  /** The term campaigned for (for a pre-vote: the term the pre-candidate asked about). */
  readonly term: number;
  /** First campaign for this term, relative to the fault. */
  readonly startedAfterFaultMs: number;
  readonly campaigns: readonly Campaign[];
  readonly votes: readonly Vote[];
  readonly refusals: readonly Refusal[];
  readonly outcome: RoundOutcome;
  readonly winner?: string;
  readonly wonAfterFaultMs?: number;
}

/** What the members' own logs say about one election after a fault. */
export interface ElectionExplanation {
  readonly faultAtWallMs: number;
  /** The leader's term before the fault. */
  readonly previousTerm: number;
  /** The first leader's term after the fault; undefined when no member logged a new leader. */
  readonly newTerm: number | undefined;
  /** newTerm − previousTerm: the terms the election used up. */
  readonly termJump: number | undefined;
  /** One per term campaigned for, in order; normally as many as the term jump. */
  readonly rounds: readonly ElectionRound[];
  readonly winner: string | undefined;
  /** When the winner logged becoming leader (or, without its log, the first member logged it). */
  readonly electedAtWallMs: number | undefined;
  readonly electedAfterFaultMs: number | undefined;
  /** Some member campaigned as a pre-candidate. */
  readonly preVote: boolean;
  /** Refusals by reason, over all rounds. */
  readonly refusals: Readonly<Record<RefusalReason, number>>;
  /** One line, e.g. "2 rounds (term 5 → 7, 2534 ms): term 6 split vote: m3 and m2 campaigned, …; term 7 m3 won". */
  readonly summary: string;
}

/** One member's log and its raft ID (hex, as etcd writes IDs in log lines). */
export interface MemberLog {
  readonly member: string;
  readonly idHex: string;
  readonly entries: readonly EtcdLogEntry[];
}

export interface ElectionWindow {
  /** When the leader was taken away (wall-clock ms; etcd's log timestamps are wall-clock too). */
  readonly faultAtWallMs: number;
  /**
   * When the lab saw the new leader (e.g. the tracker, wall-clock ms). Only bounds the search:
   * a leader logged more than ELECTED_SLACK_MS (election-rounds.ts) after it is not this election's. Default:
   * the first leader logged after the fault.
   */
  readonly electedAtWallMs?: number;
  /** The old leader's term. Default: the highest term the logs show before the fault. */
  readonly previousTerm?: number;
}
