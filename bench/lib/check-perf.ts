// `etcdctl check perf`: its fixed load levels and a parser for what it prints (pure).
//
// The levels are etcdctl's own (etcdctl/ctlv3/command/check.go, `checkPerfCfgMap`): a rate
// limiter admits `ratePerSecond` puts for `durationSeconds`, handed to `clients` goroutines,
// each with its own client (so its own connections). Every put writes a random 256-byte key
// under the prefix and a 1 KiB value. Nothing of this can be changed from the command line.

export type CheckPerfLoad = 's' | 'm' | 'l' | 'xl';

export interface CheckPerfLevel {
  readonly ratePerSecond: number;
  readonly clients: number;
  readonly durationSeconds: number;
}

export const CHECK_PERF_LEVELS: Readonly<Record<CheckPerfLoad, CheckPerfLevel>> = {
  s: { ratePerSecond: 150, clients: 50, durationSeconds: 60 },
  m: { ratePerSecond: 1_000, clients: 200, durationSeconds: 60 },
  l: { ratePerSecond: 8_000, clients: 500, durationSeconds: 60 },
  xl: { ratePerSecond: 15_000, clients: 1_000, durationSeconds: 60 },
};

/** Key and value sizes of every put `check perf` sends. */
export const CHECK_PERF_KEY_BYTES = 256;
export const CHECK_PERF_VALUE_BYTES = 1_024;

export const isCheckPerfLoad = (value: string): value is CheckPerfLoad =>
  Object.hasOwn(CHECK_PERF_LEVELS, value);

/** What `check perf` printed. Numeric fields are null when their line is missing. */
export interface CheckPerfReport {
  /**
   * As printed: etcdctl prints `int(requests per second) + 1`, so this is up to 1 above the
   * true rate. Its rate counts every request, failed ones too, over the whole run.
   */
  readonly throughputWritesPerSecond: number | null;
  /** Slowest request, from the client's send to its return. */
  readonly slowestMs: number | null;
  /** Population standard deviation of the request latencies. */
  readonly stddevMs: number | null;
  /** Errors by message, from `FAIL: ERROR(<message>) -> <count>` lines. */
  readonly errors: Readonly<Record<string, number>>;
  /** The final PASS / FAIL line (FAIL also when a threshold was missed, not only on errors). */
  readonly verdict: 'PASS' | 'FAIL' | null;
  /** True when throughput, slowest and stddev were all found. */
  readonly complete: boolean;
}

/**
 * Parses `etcdctl check perf` output. The progress bar shares stdout and redraws with
 * carriage returns, so the text is split on both \r and \n. Lines look like
 * `PASS: Throughput is 151 writes/s`, `FAIL: Throughput too low: 6491 writes/s`,
 * `PASS: Slowest request took 0.468174s`, `Slowest request took too long: 0.786915s`,
 * `PASS: Stddev is 0.028241s`, `Stddev too high: 0.2s`, then `PASS` or `FAIL`.
 */
export function parseCheckPerfOutput(text: string): CheckPerfReport {
  let throughputWritesPerSecond: number | null = null;
  let slowestMs: number | null = null;
  let stddevMs: number | null = null;
  let verdict: CheckPerfReport['verdict'] = null;
  const errors: Record<string, number> = {};
  for (const raw of text.split(/[\r\n]+/)) {
    const line = raw.trim();
    let match: RegExpExecArray | null;
    if ((match = /Throughput (?:is|too low:) (\d+) writes\/s/.exec(line))) {
      throughputWritesPerSecond = Number(match[1]);
    } else if ((match = /Slowest request took (?:too long: )?([\d.]+)s$/.exec(line))) {
      slowestMs = Number(match[1]) * 1_000;
    } else if ((match = /Stddev (?:is|too high:) ([\d.]+)s$/.exec(line))) {
      stddevMs = Number(match[1]) * 1_000;
    } else if ((match = /^FAIL: ERROR\((.*)\) -> (\d+)$/.exec(line))) {
      errors[match[1] ?? ''] = Number(match[2]);
    } else if (line === 'PASS' || line === 'FAIL') {
      verdict = line;
    }
  }
  return {
    throughputWritesPerSecond,
    slowestMs,
    stddevMs,
    errors,
    verdict,
    complete: throughputWritesPerSecond !== null && slowestMs !== null && stddevMs !== null,
  };
}
