/** Elections explained from the logs, in words (one line each) and in numbers (over many elections). */
import {
  REFUSAL_REASONS,
  type ElectionExplanation,
  type ElectionRound,
  type RefusalReason,
} from './election-round-types.ts';

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
