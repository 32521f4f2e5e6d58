import { describe, expect, it } from 'vitest';
import { countTests, mergeVitestReports, type VitestReport } from '../../scripts/lib/vitest-reports.ts';

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

describe('countTests: the `N passed, N failed` line CI ends with', () => {
  it('counts failed tests and skipped ones', () => {
    const run = report({
      numPassedTests: 7,
      numFailedTests: 2,
      numPendingTests: 1,
      numTodoTests: 1,
      success: false,
      testResults: [
        { name: 'a', status: 'failed', assertionResults: [{ status: 'failed' }, { status: 'failed' }] },
      ],
    });
    expect(countTests(run, 1)).toEqual({ passed: 7, failed: 2, skipped: 2 });
    expect(countTests(report({ numPassedTests: 3 }), 0)).toEqual({ passed: 3, failed: 0, skipped: 0 });
  });

  it('counts a file that failed in beforeAll (its tests reported skipped) as one failure', () => {
    // What CI run 36 looked like: the long tier's cluster did not start, its 3 tests were skipped.
    const run = report({
      numPassedTests: 1229,
      numPendingTests: 5,
      success: false,
      testResults: [
        { name: 'ok', status: 'passed', assertionResults: [{ status: 'passed' }] },
        { name: 'long', status: 'failed', assertionResults: [{ status: 'skipped' }, { status: 'skipped' }] },
      ],
    });
    expect(countTests(run, 1)).toEqual({ passed: 1229, failed: 1, skipped: 5 });
  });

  it('never says 0 failed for a run that exited non-zero, report or not', () => {
    expect(countTests(report({ numPassedTests: 4 }), 1).failed).toBe(1);
    expect(countTests(undefined, 2)).toEqual({ passed: 0, failed: 1, skipped: 0 });
    expect(countTests(undefined, 0)).toEqual({ passed: 0, failed: 0, skipped: 0 });
  });
});
