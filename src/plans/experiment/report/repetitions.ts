import { electionMs, tookLeader } from '../hypothesis.ts';
import { summarizeRounds, type RoundsSummary } from '../../../measure/election-rounds.ts';
import type { ExperimentResult } from '../run-experiment.ts';

/**
 * What several runs of one experiment say together: how often each verdict came out, and the
 * spread of every figure across runs. A verdict worth reporting is the same run after run;
 * this is what `bench verdict-stability` prints and `npm run figures` writes.
 */
export interface Spread {
  readonly count: number;
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** Samples that never finished (+∞, e.g. an election still running at the end). */
  readonly unfinished: number;
}

export interface CheckAcrossRuns {
  readonly name: string;
  readonly expected: string;
  readonly verdicts: Readonly<Record<string, number>>;
  /** Statistical checks: the point estimate of each run, and its one-sided confidence bounds. */
  readonly estimate: Spread | null;
  readonly lowerBound: Spread | null;
  readonly upperBound: Spread | null;
}

export interface RepetitionSummary {
  readonly experiment: string;
  readonly runs: number;
  /** Completed runs by verdict; failed or aborted runs by their status. */
  readonly verdicts: Readonly<Record<string, number>>;
  readonly checks: readonly CheckAcrossRuns[];
  /** Every election after a fault that took the leader, over all runs (ms). */
  readonly elections: Spread | null;
  /** Term jump of each of those elections (1: one round; more: failed candidacies before the winner). */
  readonly termJumps: Readonly<Record<string, number>>;
  /** Rounds and refused votes of those elections, from the members' logs. */
  readonly rounds: RoundsSummary | null;
  readonly etcdVersion: string;
}

export function spreadOf(values: readonly number[]): Spread {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  return {
    count: values.length,
    median: finite.length === 0 ? null : (finite[Math.floor((finite.length - 1) / 2)] ?? null),
    min: finite[0] ?? null,
    max: finite.at(-1) ?? null,
    unfinished: values.length - finite.length,
  };
}

function tally(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

export function summarizeRepetitions(
  experiment: string,
  results: readonly ExperimentResult[],
): RepetitionSummary {
  const names = [...new Set(results.flatMap((r) => r.checks.map((c) => c.name)))];
  const checks = names.map((name): CheckAcrossRuns => {
    const all = results.flatMap((r) => r.checks.filter((c) => c.name === name));
    const statistical = all.filter((c) => c.statistics !== undefined);
    return {
      name,
      expected: all[0]?.expected ?? '',
      verdicts: tally(all.map((c) => c.verdict)),
      estimate:
        statistical.length === 0
          ? null
          : spreadOf(statistical.map((c) => c.statistics?.estimate ?? Infinity)),
      // A missing bound counts as unbounded on its side.
      lowerBound:
        statistical.length === 0 ? null : spreadOf(statistical.map((c) => c.statistics?.lower ?? -Infinity)),
      upperBound:
        statistical.length === 0 ? null : spreadOf(statistical.map((c) => c.statistics?.upper ?? Infinity)),
    };
  });
  const leaderSteps = results.flatMap((r) => r.steps.filter(tookLeader));
  const jumps = leaderSteps.map((s) =>
    s.leaderChange?.newTerm === undefined ? 'none' : String(s.leaderChange.newTerm - termBefore(s)),
  );
  const version = results[0]?.environment.etcdVersion;
  return {
    experiment,
    runs: results.length,
    verdicts: tally(results.map((r) => (r.status === 'completed' ? r.verdict : r.status))),
    checks,
    elections: leaderSteps.length === 0 ? null : spreadOf(leaderSteps.map(electionMs)),
    termJumps: tally(jumps),
    rounds:
      leaderSteps.length === 0 ? null : summarizeRounds(leaderSteps.map((s) => s.election ?? undefined)),
    etcdVersion: typeof version === 'string' ? version : 'unknown',
  };
}

const termBefore = (step: ExperimentResult['steps'][number]): number => step.leaderBefore.term;

const fmt = (v: number | null, unit: string): string =>
  v === null ? 'n/a' : unit === 'ms' ? `${v.toFixed(0)} ms` : `${(v * 100).toFixed(1)} %`;

/** "1251 ms (1081–4022 ms)" style text for a spread; `unit` 'ms' or 'share'. */
export function describeSpread(s: Spread | null, unit: 'ms' | 'share' = 'ms'): string {
  if (s === null || s.median === null) return 'n/a';
  const range = s.min === s.max ? '' : ` (${fmt(s.min, unit)}–${fmt(s.max, unit)})`;
  return `${fmt(s.median, unit)}${range}${s.unfinished > 0 ? `, ${s.unfinished} unfinished` : ''}`;
}

export function describeCounts(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/** The summary as text lines (what verdict-stability prints). */
export function renderRepetitionSummary(s: RepetitionSummary): string[] {
  const lines = [
    `${s.experiment}: ${s.runs} runs, etcd ${s.etcdVersion}`,
    `verdicts: ${describeCounts(s.verdicts)}`,
  ];
  for (const c of s.checks) {
    const unit = c.expected.includes('%') ? 'share' : 'ms';
    lines.push(
      `  ${c.name} (${c.expected}): ${describeCounts(c.verdicts)}` +
        (c.estimate
          ? `; estimate ${describeSpread(c.estimate, unit)}; lower bound ${describeSpread(c.lowerBound, unit)}; upper bound ${describeSpread(c.upperBound, unit)}`
          : ''),
    );
  }
  if (s.elections !== null) {
    lines.push(`elections: ${s.elections.count}, ${describeSpread(s.elections)}`);
    lines.push(`term jump per election: ${describeCounts(s.termJumps)}`);
    if (s.rounds !== null) lines.push(describeRounds(s.rounds));
  }
  return lines;
}

/** "rounds (from the logs): 1 round 10, 2 rounds 2; refused votes: log-not-up-to-date 2 (in 2 elections)". */
export function describeRounds(r: RoundsSummary): string {
  const byRounds = Object.entries(r.byRounds)
    .map(([n, count]) => `${n} round${n === '1' ? '' : 's'} ${count}`)
    .join(', ');
  const refusals = Object.entries(r.refusals)
    .filter(([, n]) => n > 0)
    .map(
      ([reason, n]) =>
        `${reason} ${n} (in ${r.electionsWithRefusal[reason as keyof typeof r.refusals]} elections)`,
    )
    .join(', ');
  return `rounds per election, from the logs (${r.elections} explained): ${byRounds || 'none'}; refused votes: ${refusals || 'none'}`;
}
