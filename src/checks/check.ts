/**
 * One shape for every judgement the lab makes: a hypothesis check of an experiment, a sweep
 * expectation on one cell, a claim of the quorum model, the acknowledged-writes check. Each is
 * data (Jepsen's checker result, Chaos Toolkit's tolerance probe), never an exception, and the
 * results envelope (src/run/results-envelope.ts) writes them all the same way: one row in
 * report.md, one JUnit test case.
 */

/**
 * A claim about a random process is judged over its samples with a stated confidence:
 * held when the confidence bound is on the claimed side, deviated when the opposite bound
 * is past the limit, inconclusive when the samples cannot tell — never "held" by default.
 */
export type Verdict = 'held' | 'deviated' | 'inconclusive';

/** The samples behind a statistical verdict, its confidence bounds, and what would decide it. */
export interface CheckStatistics {
  readonly samples: number;
  readonly confidence: number;
  /** The point estimate (sample quantile or observed fraction); null without samples. */
  readonly estimate: number | null;
  readonly lower: number | null;
  readonly upper: number | null;
  /** Inconclusive only: how many samples in all would decide (null: no number would). */
  readonly samplesToDecide: number | null;
}

export interface Check {
  /** What is claimed, in words ("time to a new leader p95", "3 members tolerate 1 down"). */
  readonly name: string;
  /** The claim's bound or prediction, in words. */
  readonly expected: string;
  /** What the run saw, in words. */
  readonly observed: string;
  readonly verdict: Verdict;
  /** Why the verdict is what it is, where expected and observed do not say it on their own. */
  readonly why?: string;
  /** Statistical claims: the numbers the verdict was judged on. */
  readonly statistics?: CheckStatistics;
  /**
   * A counterexample too long for a table row (a linearizability violation: operations, the
   * store, a timeline): in JUnit's failure text and in its own section of the report.
   */
  readonly details?: string;
}

/**
 * Worst of several verdicts: any deviation deviates; otherwise any inconclusive is inconclusive;
 * no verdict at all is 'held' (nothing was claimed, so nothing failed).
 */
export function combineVerdicts(verdicts: Iterable<Verdict>): Verdict {
  let combined: Verdict = 'held';
  for (const v of verdicts) {
    if (v === 'deviated') return 'deviated';
    if (v === 'inconclusive') combined = 'inconclusive';
  }
  return combined;
}

/**
 * The verdict of a whole run. A run that did not complete cannot say a claim held (what it
 * would have seen next is unknown): a deviation it did see stands, anything else is inconclusive.
 * Its checks must therefore call deviated only what was measured: a check whose observation is
 * missing or was cut short by the run's end is inconclusive (see checkHypothesis' `status`).
 */
export function runVerdict(status: 'completed' | 'failed' | 'aborted', checks: readonly Check[]): Verdict {
  const combined = combineVerdicts(checks.map((c) => c.verdict));
  return status === 'completed' || combined === 'deviated' ? combined : 'inconclusive';
}

/** "✓", "✗" or "?" before a check's line on the terminal. */
export const verdictMark = (verdict: Verdict): string =>
  verdict === 'held' ? '✓' : verdict === 'deviated' ? '✗' : '?';

/** A verdict from a checker's ok / failed / unknown (see acknowledged-writes.ts). */
export function verdictOfStatus(status: 'ok' | 'failed' | 'unknown'): Verdict {
  return status === 'ok' ? 'held' : status === 'failed' ? 'deviated' : 'inconclusive';
}
