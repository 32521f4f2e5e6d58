import type { Verdict } from '../checks/distribution-claims.ts';

/**
 * Exit codes of every command: 0 ok / the hypothesis held, 1 deviated, 2 bad input or the
 * lab itself failed (or the run was interrupted), 3 inconclusive — the samples could not
 * decide a claim, which is never reported as held.
 */
export const EXIT = { ok: 0, deviated: 1, labFailure: 2, inconclusive: 3 } as const;

/** The exit code for a run that ended with `status` and, when it completed, `verdict`. */
export function exitCodeFor(status: 'completed' | 'failed' | 'aborted', verdict: Verdict): number {
  if (status !== 'completed') return EXIT.labFailure;
  return verdict === 'held' ? EXIT.ok : verdict === 'deviated' ? EXIT.deviated : EXIT.inconclusive;
}

/** What `--help` says about exit codes. */
export const EXIT_HELP =
  '\nExit codes: 0 held (or done), 1 deviated, 3 inconclusive (the samples could not decide a claim; the report says how many more would), 2 bad input or the lab failed.';
