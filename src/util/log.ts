/**
 * Progress output for long work goes to stderr, so stdout stays clean for results and
 * `--json`. Quiet by default inside the test runner unless ETCD_LAB_VERBOSE is set.
 */
const start = Date.now();
const quiet =
  (process.env.VITEST !== undefined && process.env.ETCD_LAB_VERBOSE === undefined) ||
  process.env.ETCD_LAB_QUIET === '1';

export function progress(message: string): void {
  if (quiet) return;
  const elapsed = ((Date.now() - start) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[etcd-lab ${elapsed}s] ${message}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`etcd-lab: warning: ${message}\n`);
}
