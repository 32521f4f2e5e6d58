import { describe, expect, it } from 'vitest';
import { CHECK_PERF_LEVELS, isCheckPerfLoad, parseCheckPerfOutput } from '../../bench/lib/check-perf.ts';

// What etcdctl 3.4 prints: the progress bar redraws with \r on the same stdout.
const PASSING =
  ' 0 / 60 B                                                 !   0.00%\r' +
  ' 60 / 60 Boooooooooooooooooooooooooooooooooooooooooooooo! 100.00% 1m0s\n' +
  'PASS: Throughput is 151 writes/s\n' +
  'PASS: Slowest request took 0.468174s\n' +
  'PASS: Stddev is 0.028241s\n' +
  'PASS\n';

const FAILING = [
  'FAIL: too many errors',
  'FAIL: ERROR(context deadline exceeded) -> 12',
  'FAIL: ERROR(etcdserver: request timed out) -> 3',
  'FAIL: Throughput too low: 6491 writes/s',
  'Slowest request took too long: 0.786915s',
  'Stddev too high: 0.123400s',
  'FAIL',
].join('\n');

describe('parsing etcdctl check perf output', () => {
  it('reads throughput, slowest and stddev of a passing run, in ms', () => {
    const report = parseCheckPerfOutput(PASSING);
    expect(report).toMatchObject({
      throughputWritesPerSecond: 151,
      verdict: 'PASS',
      complete: true,
      errors: {},
    });
    expect(report.slowestMs).toBeCloseTo(468.174, 6);
    expect(report.stddevMs).toBeCloseTo(28.241, 6);
  });

  it('reads the failing forms of every line and the errors by message', () => {
    const report = parseCheckPerfOutput(FAILING);
    expect(report.throughputWritesPerSecond).toBe(6491);
    expect(report.slowestMs).toBeCloseTo(786.915, 6);
    expect(report.stddevMs).toBeCloseTo(123.4, 6);
    expect(report.errors).toEqual({ 'context deadline exceeded': 12, 'etcdserver: request timed out': 3 });
    expect(report.verdict).toBe('FAIL');
  });

  it('says so when the report is cut short (e.g. etcdctl could not connect)', () => {
    const report = parseCheckPerfOutput('Error: context deadline exceeded\n');
    expect(report).toMatchObject({ complete: false, verdict: null, throughputWritesPerSecond: null });
  });

  it('knows etcdctl’s load levels and nothing else', () => {
    expect(CHECK_PERF_LEVELS.s).toEqual({ ratePerSecond: 150, clients: 50, durationSeconds: 60 });
    expect(isCheckPerfLoad('xl')).toBe(true);
    expect(isCheckPerfLoad('small')).toBe(false);
    expect(isCheckPerfLoad('toString')).toBe(false);
  });
});
