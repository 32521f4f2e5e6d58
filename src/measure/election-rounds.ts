import type { EtcdLogEntry } from '../cluster/started-etcd-cluster.ts';
import {
  raftEvents,
  voteEvents,
  type LogPosition,
  type RaftLogEvent,
  type RaftVoteEvent,
  type VotePhase,
} from './election-log.ts';

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
   * a leader logged more than {@link ELECTED_SLACK_MS} after it is not this election's. Default:
   * the first leader logged after the fault.
   */
  readonly electedAtWallMs?: number;
  /** The old leader's term. Default: the highest term the logs show before the fault. */
  readonly previousTerm?: number;
}

/** Logs are read some time after the tracker saw the leader, and etcd writes whole ms. */
export const ELECTED_SLACK_MS = 250;
/**
 * Lines of the winning round still arrive just after "became leader" (vote responses, the
 * voters' own notices); later lines in that term are stale messages (e.g. a vote request
 * delivered to the old leader when it restarts) and are not part of this election.
 */
const AFTER_LEADER_MS = 50;
/** Different members' lines in the same millisecond may come in either order. */
const CLOCK_TOLERANCE_MS = 2;

interface MutableCampaign {
  member: string;
  phase: VotePhase;
  term: number;
  tsMs: number;
  log?: LogPosition;
}

/**
 * Explains one election from the members' raft log lines (pure): which terms were campaigned
 * for, by whom, who voted for whom, who refused and why, and who won when. Pass the logs of
 * the members that could elect (for an isolated leader that keeps campaigning on its own,
 * leave it out) with their IDs, so vote lines can name their peers.
 */
export function explainElectionFromLogs(
  logs: readonly MemberLog[],
  window: ElectionWindow,
): ElectionExplanation {
  const { faultAtWallMs } = window;
  const names = new Map(logs.map((l) => [l.idHex, l.member]));
  const nameOf = (hex: string) => names.get(hex) ?? hex;
  const roles = logs.flatMap((l) => raftEvents(l.member, l.entries));
  const votes = logs.flatMap((l) => voteEvents(l.member, l.entries));
  const fromMs = faultAtWallMs - 1; // etcd logs whole milliseconds
  const relative = (tsMs: number) => tsMs - faultAtWallMs;

  const previousTerm =
    window.previousTerm ?? Math.max(0, ...roles.filter((e) => e.tsMs < faultAtWallMs).map((e) => e.term));
  const upperMs = window.electedAtWallMs === undefined ? Infinity : window.electedAtWallMs + ELECTED_SLACK_MS;
  const afterFault = (e: { tsMs: number; term: number }) =>
    e.tsMs >= fromMs && e.tsMs <= upperMs && e.term > previousTerm;
  const firstOf = (events: RaftLogEvent[]) =>
    events.filter(afterFault).sort((a, b) => a.tsMs - b.tsMs || a.term - b.term)[0];
  const leaderLine =
    firstOf(roles.filter((e) => e.kind === 'leader')) ?? firstOf(roles.filter((e) => e.kind === 'elected'));
  const newTerm = leaderLine?.term;
  const winner =
    leaderLine === undefined
      ? undefined
      : leaderLine.kind === 'leader'
        ? leaderLine.member
        : nameOf(leaderLine.leaderIdHex ?? '');
  const electedAtWallMs = leaderLine?.tsMs;
  const toMs = electedAtWallMs === undefined ? upperMs : electedAtWallMs + AFTER_LEADER_MS;
  const inWindow = (tsMs: number, term: number) =>
    tsMs >= fromMs && tsMs <= toMs && term > previousTerm && (newTerm === undefined || term <= newTerm);

  // Campaigns, keyed by the term campaigned for: a pre-candidate at term N asks about N + 1.
  const campaigns: MutableCampaign[] = roles
    .filter((e) => e.kind === 'pre-candidate' || e.kind === 'candidate')
    .map((e) => ({
      member: e.member,
      phase: e.kind === 'pre-candidate' ? ('pre-vote' as const) : ('vote' as const),
      term: e.kind === 'pre-candidate' ? e.term + 1 : e.term,
      tsMs: e.tsMs,
    }))
    .filter((c) => inWindow(c.tsMs, c.term))
    .sort((a, b) => a.tsMs - b.tsMs);

  const targetOfRequest = (e: { phase: VotePhase; term: number }) =>
    e.phase === 'pre-vote' ? e.term + 1 : e.term;
  for (const request of votes) {
    if (request.kind !== 'request') continue;
    const term = targetOfRequest(request);
    const campaign = latestCampaign(campaigns, request.member, request.phase, request.tsMs, term);
    if (campaign && campaign.log === undefined) campaign.log = request.log;
  }

  /**
   * The term a voter's line is about: the candidate's campaign it answers. A voter prints its
   * own term, which for a pre-vote or an ignored request is not the term asked for.
   */
  const targetOfAnswer = (candidate: string, phase: VotePhase, tsMs: number, fallback: number) =>
    latestCampaign(campaigns, candidate, phase, tsMs)?.term ?? fallback;

  const granted: (Vote & { term: number })[] = [];
  const refused: (Refusal & { term: number })[] = [];
  for (const e of votes) {
    if (e.kind === 'cast' || e.kind === 'rejected' || e.kind === 'ignored-in-lease') {
      const candidate = nameOf(e.candidateHex);
      const fallback =
        e.kind === 'cast' || (e.kind === 'rejected' && e.phase === 'vote') ? e.term : e.term + 1;
      const term = targetOfAnswer(candidate, e.phase, e.tsMs, fallback);
      if (!inWindow(e.tsMs, term)) continue;
      const at = { voter: e.member, candidate, phase: e.phase, afterFaultMs: relative(e.tsMs), term };
      if (e.kind === 'cast') {
        granted.push(at);
        continue;
      }
      const positions = { voterLog: e.voterLog, candidateLog: e.candidateLog };
      if (e.kind === 'ignored-in-lease') {
        const ticks = e.remainingTicks ?? 0;
        refused.push({
          ...at,
          ...positions,
          reason: 'in-lease',
          detail: `in leader lease, ${ticks} tick${ticks === 1 ? '' : 's'} left`,
          remainingTicks: ticks,
        });
        continue;
      }
      refused.push({ ...at, ...positions, ...rejectionReason(e, candidate, term, nameOf) });
    } else if (e.kind === 'ignored-lower-term') {
      const candidate = nameOf(e.candidateHex);
      if (!inWindow(e.tsMs, e.candidateTerm)) continue;
      refused.push({
        voter: e.member,
        candidate,
        phase: e.phase,
        afterFaultMs: relative(e.tsMs),
        term: e.candidateTerm,
        reason: 'other',
        detail: `stale term: ${e.candidateTerm} < ${e.term}`,
      });
    }
  }
  // What only the candidate logged (the voter's log may be missing or cut short).
  for (const e of votes) {
    if (e.kind !== 'response') continue;
    const voter = nameOf(e.fromHex);
    const term = targetOfRequest(e);
    if (voter === e.member || !inWindow(e.tsMs, term)) continue;
    const same = (r: { voter: string; candidate: string; phase: VotePhase; term: number }) =>
      r.voter === voter && r.candidate === e.member && r.phase === e.phase && r.term === term;
    const at = { voter, candidate: e.member, phase: e.phase, afterFaultMs: relative(e.tsMs), term };
    if (e.granted && !granted.some(same)) granted.push(at);
    if (!e.granted && !refused.some(same)) {
      refused.push({ ...at, reason: 'other', detail: 'rejection logged only by the candidate' });
    }
  }

  const terms = [...new Set(campaigns.map((c) => c.term))].sort((a, b) => a - b);
  const rounds = terms.map((term): ElectionRound => {
    const own = campaigns.filter((c) => c.term === term);
    const roundVotes = granted.filter((v) => v.term === term).map(({ term: _, ...v }) => v);
    const roundRefusals = refused.filter((r) => r.term === term).map(({ term: _, ...r }) => r);
    const candidates = new Set(own.filter((c) => c.phase === 'vote').map((c) => c.member));
    const won = term === newTerm && winner !== undefined;
    const outcome: RoundOutcome = won
      ? 'won'
      : candidates.size >= 2
        ? 'split-vote'
        : candidates.size === 0
          ? 'pre-vote-failed'
          : roundRefusals.length > 0
            ? 'refused'
            : 'unanswered';
    return {
      term,
      startedAfterFaultMs: relative(Math.min(...own.map((c) => c.tsMs))),
      campaigns: own.map((c) => ({
        member: c.member,
        phase: c.phase,
        afterFaultMs: relative(c.tsMs),
        ...(c.log === undefined ? {} : { log: c.log }),
      })),
      votes: roundVotes,
      refusals: roundRefusals,
      outcome,
      ...(won && electedAtWallMs !== undefined ? { winner, wonAfterFaultMs: relative(electedAtWallMs) } : {}),
    };
  });

  const refusals = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
  for (const round of rounds) for (const r of round.refusals) refusals[r.reason]++;
  const explanation = {
    faultAtWallMs,
    previousTerm,
    newTerm,
    termJump: newTerm === undefined ? undefined : newTerm - previousTerm,
    rounds,
    winner,
    electedAtWallMs,
    electedAfterFaultMs: electedAtWallMs === undefined ? undefined : relative(electedAtWallMs),
    preVote: campaigns.some((c) => c.phase === 'pre-vote'),
    refusals,
  };
  return { ...explanation, summary: summarizeElection(explanation) };
}

/** The latest campaign of `member` in `phase` at or before `tsMs` (and for `term`, if given). */
function latestCampaign(
  campaigns: readonly MutableCampaign[],
  member: string,
  phase: VotePhase,
  tsMs: number,
  term?: number,
): MutableCampaign | undefined {
  let found: MutableCampaign | undefined;
  for (const c of campaigns) {
    if (c.tsMs > tsMs + CLOCK_TOLERANCE_MS) break;
    if (c.member === member && c.phase === phase && (term === undefined || c.term === term)) found = c;
  }
  return found;
}

/**
 * Why a voter logged "rejected": etcd grants only if it may vote (it voted for this candidate
 * already, or has neither voted nor a leader in the term) and the candidate's log is at least
 * as up to date as its own. When both fail the log is named: it is the reason that holds in
 * every term, while a vote is only for one.
 */
function rejectionReason(
  e: Extract<RaftVoteEvent, { candidateLog: LogPosition }>,
  candidate: string,
  term: number,
  nameOf: (hex: string) => string,
): { reason: RefusalReason; detail: string } {
  const { voterLog: v, candidateLog: c } = e;
  if (c.term < v.term || (c.term === v.term && c.index < v.index)) {
    return {
      reason: 'log-not-up-to-date',
      detail: `log not up to date: ${candidate} is behind (${c.term}/${c.index} < ${v.term}/${v.index})`,
    };
  }
  if (e.votedForHex !== '0' && nameOf(e.votedForHex) !== candidate) {
    return { reason: 'already-voted', detail: `already voted for ${nameOf(e.votedForHex)}` };
  }
  if (e.phase === 'pre-vote' && e.term >= term) {
    return { reason: 'other', detail: `stale term: the voter is at term ${e.term}` };
  }
  return { reason: 'other', detail: 'the voter already follows a leader in this term' };
}

const listNames = (names: readonly string[]) =>
  names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;

/** The one-line summary of an explanation. */
export function summarizeElection(e: Omit<ElectionExplanation, 'summary'>): string {
  if (e.rounds.length === 0) {
    return e.newTerm === undefined
      ? 'no campaign and no new leader in the logs'
      : `${e.winner ?? '?'} leader at term ${e.newTerm}; no campaign in the logs`;
  }
  const head =
    `${e.rounds.length} round${e.rounds.length === 1 ? '' : 's'}` +
    (e.newTerm === undefined
      ? ', no leader elected'
      : ` (term ${e.previousTerm} → ${e.newTerm}${e.electedAfterFaultMs === undefined ? '' : `, ${Math.round(e.electedAfterFaultMs)} ms`})`);
  // Rounds that went the same way one after another (a behind candidate refused term after term) read as one.
  const runs: { from: number; to: number; text: string }[] = [];
  for (const round of e.rounds) {
    const text = describeRound(round);
    const last = runs.at(-1);
    if (last && last.text === text && last.to === round.term - 1) last.to = round.term;
    else runs.push({ from: round.term, to: round.term, text });
  }
  const described = runs.map(
    ({ from, to, text }) => (from === to ? `term ${from} ` : `terms ${from}–${to} `) + text,
  );
  return `${head}: ${described.join('; ')}`;
}

/** A round without its term, so that rounds that went the same way can be told apart from ones that did not. */
function describeRound(round: ElectionRound): string {
  const won = round.outcome === 'won';
  const members = [...new Set(round.campaigns.map((c) => c.member))].filter(
    (m) => !won || m !== round.winner,
  );
  const preVoteOnly = (m: string) => round.campaigns.every((c) => c.member !== m || c.phase === 'pre-vote');
  const parts: string[] = [];
  const full = members.filter((m) => !preVoteOnly(m));
  const pre = members.filter(preVoteOnly);
  if (full.length > 0) parts.push(`${listNames(full)} campaigned`);
  if (pre.length > 0) parts.push(`${listNames(pre)} asked for pre-votes`);
  // A candidate that campaigns again in the same round (a pre-vote retried) meets the same refusal again.
  const refusals = new Map<string, number>();
  for (const r of round.refusals) {
    const verb = r.reason === 'in-lease' || r.detail.startsWith('stale') ? 'ignored' : 'refused';
    const what = r.phase === 'pre-vote' ? `${r.candidate}'s pre-vote` : r.candidate;
    const text = `${r.voter} ${verb} ${what} (${r.detail})`;
    refusals.set(text, (refusals.get(text) ?? 0) + 1);
  }
  for (const [text, count] of refusals) parts.push(count === 1 ? text : `${text} ×${count}`);
  if (won) parts.push(`${round.winner ?? '?'} won`);
  else if (round.outcome === 'refused' || round.outcome === 'unanswered') parts.push('no majority');
  else if (round.outcome === 'pre-vote-failed') parts.push('pre-vote failed');
  return (round.outcome === 'split-vote' ? 'split vote: ' : '') + parts.join(', ');
}

/** The rounds distribution and refusal reasons over many elections, for reports. */
export interface RoundsSummary {
  /** Elections explained (undefined explanations are left out). */
  readonly elections: number;
  /** Elections by the number of rounds they took, e.g. `{ 1: 7, 2: 3 }`; 0: no campaign in the logs. */
  readonly byRounds: Readonly<Record<number, number>>;
  /** Elections that took more than one round. */
  readonly multiRound: number;
  /** Elections in which no member logged a new leader. */
  readonly noLeader: number;
  /** Refusals by reason, all elections together. */
  readonly refusals: Readonly<Record<RefusalReason, number>>;
  /** Elections with at least one refusal of each reason. */
  readonly electionsWithRefusal: Readonly<Record<RefusalReason, number>>;
}

/** Summarises explanations (pure), e.g. the trials' of one experiment. */
export function summarizeRounds(explanations: readonly (ElectionExplanation | undefined)[]): RoundsSummary {
  const explained = explanations.filter((e): e is ElectionExplanation => e !== undefined);
  const byRounds: Record<number, number> = {};
  const zero = () => Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
  const refusals = zero();
  const electionsWithRefusal = zero();
  for (const e of explained) {
    byRounds[e.rounds.length] = (byRounds[e.rounds.length] ?? 0) + 1;
    for (const reason of REFUSAL_REASONS) {
      refusals[reason] += e.refusals[reason];
      if (e.refusals[reason] > 0) electionsWithRefusal[reason]++;
    }
  }
  return {
    elections: explained.length,
    byRounds,
    multiRound: explained.filter((e) => e.rounds.length > 1).length,
    noLeader: explained.filter((e) => e.newTerm === undefined).length,
    refusals,
    electionsWithRefusal,
  };
}
