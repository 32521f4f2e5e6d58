// Merging vitest JSON reports: `npm test` runs two vitest processes (scripts/test.ts) and CI
// counts one results/vitest.json.

/** The parts of vitest's JSON report that merging touches; everything else of the first is kept. */
export interface VitestReport {
  readonly startTime: number;
  readonly success: boolean;
  readonly testResults: readonly unknown[];
  readonly [field: string]: unknown;
}

/**
 * One report for several runs: every `num…` count summed, test files concatenated, the
 * earliest start, success only when every run succeeded. A run that wrote no report is not
 * here at all — the caller counts its exit status.
 */
export function mergeVitestReports(reports: readonly VitestReport[]): VitestReport | undefined {
  const [first, ...rest] = reports;
  if (first === undefined) return undefined;
  const merged: Record<string, unknown> = { ...first };
  for (const report of rest) {
    for (const [key, value] of Object.entries(report)) {
      if (key.startsWith('num') && typeof value === 'number') {
        merged[key] = (typeof merged[key] === 'number' ? merged[key] : 0) + value;
      }
    }
    merged.startTime = Math.min(merged.startTime as number, report.startTime);
    merged.success = (merged.success as boolean) && report.success;
    merged.testResults = [...(merged.testResults as unknown[]), ...report.testResults];
  }
  return merged as VitestReport;
}

export interface TestCounts {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

interface FileResult {
  readonly name?: string;
  readonly status?: string;
  readonly assertionResults?: readonly { readonly status?: string }[];
}

/**
 * The counts CI prints (`N passed, N failed`). vitest counts the tests of a file that failed
 * outside them (a `beforeAll` that threw: a cluster that did not start, an import error) as
 * skipped, and `numFailedTests` stays 0 although the run failed; each such file counts as one
 * failure here. A run that exited non-zero with no failure in its report (a tier that crashed
 * before writing one) counts as one too, so the line never says 0 failed for a failed run.
 */
export function countTests(report: VitestReport | undefined, exitStatus: number): TestCounts {
  const num = (key: string): number => {
    const value = report?.[key];
    return typeof value === 'number' ? value : 0;
  };
  const filesFailedOutsideTests = ((report?.testResults ?? []) as FileResult[]).filter(
    (file) =>
      file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
  ).length;
  let failed = num('numFailedTests') + filesFailedOutsideTests;
  if (exitStatus !== 0 && failed === 0) failed = 1;
  return { passed: num('numPassedTests'), failed, skipped: num('numPendingTests') + num('numTodoTests') };
}
