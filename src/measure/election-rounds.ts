import {
  raftEvents,
  voteEvents,
  type LogPosition,
  type RaftLogEvent,
  type RaftVoteEvent,
  type VotePhase,
} from './election-log.ts';
import {
  REFUSAL_REASONS,
  type ElectionExplanation,
  type ElectionRound,
  type ElectionWindow,
  type MemberLog,
  type Refusal,
  type RefusalReason,
  type RoundOutcome,
  type Vote,
} from './election-round-types.ts';
import { summarizeElection } from './election-rounds-summary.ts';

// The types and the summaries have files of their own; importers of this module keep working.
export * from './election-round-types.ts';
export { summarizeElection, summarizeRounds, type RoundsSummary } from './election-rounds-summary.ts';

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
