import { describe, expect, it } from 'vitest';
import { mergeVitestReports, type VitestReport } from '../../scripts/lib/vitest-reports.ts';

const report = (over: Partial<VitestReport> & Record<string, unknown>): VitestReport => ({
  startTime: 1_000,
  success: true,
  testResults: [],
  numTotalTests: 0,
  numPassedTests: 0,
  numFailedTests: 0,
  numPendingTests: 0,
  ...over,
});

describe('mergeVitestReports (npm test runs two vitest processes, CI counts one report)', () => {
  it('sums every count, concatenates the files and keeps the earliest start', () => {
    const merged = mergeVitestReports([
      report({
        startTime: 2_000,
        numTotalTests: 10,
        numPassedTests: 9,
        numFailedTests: 1,
        testResults: ['a', 'b'],
      }),
      report({
        startTime: 1_500,
        numTotalTests: 3,
        numPassedTests: 3,
        numPendingTests: 2,
        testResults: ['c'],
      }),
    ]);
    expect(merged).toMatchObject({
      startTime: 1_500,
      numTotalTests: 13,
      numPassedTests: 12,
      numFailedTests: 1,
      numPendingTests: 2,
      testResults: ['a', 'b', 'c'],
    });
  });

  it('fails when any run failed, and keeps a count only one report has', () => {
    const merged = mergeVitestReports([report({}), report({ success: false, numTodoTests: 4 })]);
    expect(merged?.success).toBe(false);
    expect(merged?.numTodoTests).toBe(4);
  });

  it('returns one report as it is, and nothing for none', () => {
    const only = report({ numPassedTests: 5 });
    expect(mergeVitestReports([only])).toEqual(only);
    expect(mergeVitestReports([])).toBeUndefined();
  });
});
