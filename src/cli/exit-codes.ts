import type { Verdict } from '../checks/check.ts';
import { STOP_SIGNAL_EXIT } from '../host/cleanup.ts';

/**
 * Exit codes of every command: 0 ok / the hypothesis held, 1 deviated, 2 bad input or the lab
 * itself failed, 3 inconclusive — the samples could not decide a claim, which is never reported
 * as held — and 128 + the signal's number for a run stopped by a signal (130 Ctrl-C, 143 SIGTERM,
 * 129 SIGHUP; see src/cli/interrupt.ts), after its aborted result was written.
 */
export const EXIT = {
  ok: 0,
  deviated: 1,
  labFailure: 2,
  inconclusive: 3,
  interrupted: STOP_SIGNAL_EXIT.SIGINT,
  terminated: STOP_SIGNAL_EXIT.SIGTERM,
  hangUp: STOP_SIGNAL_EXIT.SIGHUP,
} as const;

/**
 * The exit code for a run that ended with `status` and `verdict`. An aborted run is one a signal
 * stopped: Ctrl-C's 130 unless the CLI's interrupt names another signal (it sets the final code).
 */
export function exitCodeFor(status: 'completed' | 'failed' | 'aborted', verdict: Verdict): number {
  if (status === 'aborted') return EXIT.interrupted;
  if (status === 'failed') return EXIT.labFailure;
  return verdict === 'held' ? EXIT.ok : verdict === 'deviated' ? EXIT.deviated : EXIT.inconclusive;
}

/** What `--help` says about exit codes and stopping a run. */
export const EXIT_HELP = `
Exit codes:
  0    held (or done)
  1    deviated
  2    bad input, or the lab itself failed
  3    inconclusive: the samples could not decide a claim (the report says how many more would)
  130  stopped by Ctrl-C (143 SIGTERM, 129 SIGHUP): faults healed, clusters removed, result.json
       written with status "aborted" (a sweep keeps its finished cells for a resume); a run that
       had already completed when the signal came keeps its own code
Ctrl-C once stops in order; twice stops waiting for the results (cleanup only); three times exits at once
(\`etcd-lab clean\` removes what is left).`;
