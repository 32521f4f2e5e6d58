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
