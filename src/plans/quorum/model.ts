/**
 * Pure quorum arithmetic for a Raft cluster such as etcd: majority sizes, tolerated failures,
 * and the probability that a cluster has lost quorum when its members fail independently.
 * No I/O; every function validates its inputs and throws RangeError on nonsense.
 */

/** Mean time to failure and mean time to repair of one member, both in hours. */
export interface MemberReliability {
  readonly mttfHours: number;
  readonly mttrHours: number;
}

/** Unavailability of a cluster at one per-member down probability. */
export interface UnavailabilityAt {
  readonly p: number;
  readonly value: number;
}

export interface QuorumRow {
  readonly members: number;
  readonly majority: number;
  readonly toleratedFailures: number;
  /** One entry per probability, in the order the probabilities were given. */
  readonly unavailability: readonly UnavailabilityAt[];
}

export interface EvenOddComparison {
  readonly even: number;
  readonly odd: number;
  readonly evenUnavailability: number;
  readonly oddUnavailability: number;
  /** Strictly worse; at p = 0 and p = 1 both sizes are equal, so this is false there. */
  readonly evenIsWorse: boolean;
}

export type ProbabilityNotation = 'scientific' | 'percent';

export interface QuorumTableOptions {
  /** How to print unavailability: `2.98e-4` (default) or `0.0298%`. */
  readonly notation?: ProbabilityNotation;
  /** Significant digits for unavailability, 1..21. Default 3. */
  readonly digits?: number;
  /** Add a "nines" column after each unavailability column. Default true. */
  readonly nines?: boolean;
}

const HOURS_PER_YEAR = 365.25 * 24;
const HOURS_PER_DAY = 24;

function assertMembers(n: number, name = 'members'): void {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${String(n)}`);
  }
}

function assertProbability(p: number, name = 'p'): void {
  // `!(p >= 0 && p <= 1)` rather than `p < 0 || p > 1` so that NaN is rejected too.
  if (!(p >= 0 && p <= 1)) {
    throw new RangeError(`${name} must be a probability in [0, 1], got ${String(p)}`);
  }
}

function assertPositiveHours(hours: number, name: string): void {
  if (!(Number.isFinite(hours) && hours > 0)) {
    throw new RangeError(`${name} must be a finite number of hours > 0, got ${String(hours)}`);
  }
}

/** Smallest number of members that forms a quorum: floor(n/2) + 1. */
export function majority(n: number): number {
  assertMembers(n);
  return Math.floor(n / 2) + 1;
}

/**
 * How many members may be down while the rest still form a quorum: floor((n-1)/2).
 * Note that an even size tolerates no more failures than the odd size just below it.
 */
export function toleratedFailures(n: number): number {
  assertMembers(n);
  return Math.floor((n - 1) / 2);
}

/** Whether an n-member cluster with `down` members unavailable still has a quorum. */
export function hasQuorum(n: number, down: number): boolean {
  assertMembers(n);
  if (!Number.isSafeInteger(down) || down < 0 || down > n) {
    throw new RangeError(`down must be an integer in [0, ${n}], got ${String(down)}`);
  }
  return n - down >= majority(n);
}

/**
 * Binomial coefficients C(n, k) for k = 0..n, computed incrementally. `exact` is the exact integer
 * while it fits in a double's 53-bit mantissa; past that only the natural log is available.
 */
function* binomialCoefficients(n: number): Generator<{ k: number; exact: number | undefined; log: number }> {
  let exact: number | undefined = 1;
  let log = 0;
  for (let k = 0; k <= n; k++) {
    yield { k, exact, log };
    if (k === n) return;
    // C(n, k+1) = C(n, k) * (n-k) / (k+1). The product is divisible by k+1 (it equals
    // C(n, k+1) * (k+1)), so while it is a safe integer the division is exact.
    if (exact !== undefined) {
      const product: number = exact * (n - k);
      exact = product <= Number.MAX_SAFE_INTEGER ? product / (k + 1) : undefined;
    }
    log = exact !== undefined ? Math.log(exact) : log + Math.log(n - k) - Math.log(k + 1);
  }
}

/**
 * Probability that an n-member cluster has lost quorum, i.e. that more than toleratedFailures(n)
 * of its members are down, when each is down independently with probability p (binomial upper tail).
 *
 * The tail is summed directly rather than as 1 - (lower tail): every term is positive, so nothing
 * cancels and tiny results such as 3e-12 keep full relative precision. With an exact coefficient a
 * term is C·p^k·q^(n-k); for large n the coefficient overflows and the term is formed in log space,
 * which also avoids p^k underflowing while the whole term is still representable.
 */
export function unavailability(n: number, p: number): number {
  assertMembers(n);
  assertProbability(p);
  if (p === 0) return 0;
  if (p === 1) return 1;
  const first = toleratedFailures(n) + 1;
  const q = 1 - p;
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  const terms: number[] = [];
  for (const { k, exact, log } of binomialCoefficients(n)) {
    if (k < first) continue;
    terms.push(
      exact !== undefined ? exact * p ** k * q ** (n - k) : Math.exp(log + k * logP + (n - k) * logQ),
    );
  }
  // Adding smallest first loses the least precision.
  terms.sort((a, b) => a - b);
  const sum = terms.reduce((acc, t) => acc + t, 0);
  return Math.min(1, sum);
}

/**
 * Long-run fraction of time one member is down: MTTR / (MTTF + MTTR).
 * This is the p to feed to unavailability().
 */
export function memberDownProbability({ mttfHours, mttrHours }: MemberReliability): number {
  assertPositiveHours(mttfHours, 'mttfHours');
  if (!(Number.isFinite(mttrHours) && mttrHours >= 0)) {
    throw new RangeError(`mttrHours must be a finite number of hours >= 0, got ${String(mttrHours)}`);
  }
  return mttrHours / (mttfHours + mttrHours);
}

/**
 * Probability that one server fails on a given day: 24 / MTBF in hours. An MTBF of 10 years gives
 * 1 / (10 × 365.25) ≈ 0.000274, about 0.03% a day.
 *
 * This is the rate-times-interval approximation (the exact exponential model gives
 * 1 - e^(-24/MTBF), which differs by under 0.02% relative at that MTBF). It stops being a
 * probability below a one-day MTBF, so that is rejected.
 */
export function dailyFailureProbability(mtbfHours: number): number {
  assertPositiveHours(mtbfHours, 'mtbfHours');
  if (mtbfHours < HOURS_PER_DAY) {
    throw new RangeError(
      `mtbfHours must be >= ${HOURS_PER_DAY} for a daily failure probability, got ${String(mtbfHours)}`,
    );
  }
  return HOURS_PER_DAY / mtbfHours;
}

/**
 * Expected number of server failures per day across a fleet: fleetSize × 24 / MTBF. 10,000 servers
 * with a 10-year MTBF see about 2.74 failures a day: at scale, failure is routine, not exceptional.
 */
export function expectedFailuresPerDay(fleetSize: number, mtbfHours: number): number {
  if (!Number.isSafeInteger(fleetSize) || fleetSize < 0) {
    throw new RangeError(`fleetSize must be an integer >= 0, got ${String(fleetSize)}`);
  }
  assertPositiveHours(mtbfHours, 'mtbfHours');
  return (fleetSize * HOURS_PER_DAY) / mtbfHours;
}

const UNIT_HOURS: Readonly<Record<string, number>> = {
  s: 1 / 3600,
  m: 1 / 60,
  h: 1,
  d: HOURS_PER_DAY,
  w: 7 * HOURS_PER_DAY,
  y: HOURS_PER_YEAR,
};

const DURATION_PATTERN = /^(\d+(?:\.\d+)?|\.\d+)([smhdwy])$/;

/**
 * Parse an MTTF/MTTR duration such as `10y`, `2d`, `1.5h`, `30m`, `90s`, `1w` into hours.
 * Units are lower-case only: `m` is minutes, and an upper-case `M` would read as months.
 * A year is 365.25 days.
 */
export function parseDuration(text: string): number {
  const match = DURATION_PATTERN.exec(text.trim());
  const unitHours = match?.[2] === undefined ? undefined : UNIT_HOURS[match[2]];
  if (match?.[1] === undefined || unitHours === undefined) {
    throw new Error(
      `Invalid duration ${JSON.stringify(text)}: expected a non-negative number followed by one unit, ` +
        `s (seconds), m (minutes), h (hours), d (days), w (weeks) or y (years of 365.25 days), ` +
        `e.g. "4h", "30m", "1.5h", "10y"`,
    );
  }
  return Number(match[1]) * unitHours;
}

/** Quorum facts and unavailability for each cluster size in `ns` at each probability in `ps`. */
export function availabilityTable(ns: readonly number[], ps: readonly number[]): QuorumRow[] {
  ps.forEach((p) => assertProbability(p));
  return ns.map((n) => ({
    members: n,
    majority: majority(n),
    toleratedFailures: toleratedFailures(n),
    unavailability: ps.map((p) => ({ p, value: unavailability(n, p) })),
  }));
}

/**
 * Compare each even size with the odd size just below it: (2 vs 1), (4 vs 3), (6 vs 5).
 * The even size tolerates the same number of failures but has one more member that can fail,
 * so for every p strictly between 0 and 1 it is strictly less available.
 */
export function evenSizeComparison(p: number): EvenOddComparison[] {
  assertProbability(p);
  return [2, 4, 6].map((even) => {
    const odd = even - 1;
    const evenUnavailability = unavailability(even, p);
    const oddUnavailability = unavailability(odd, p);
    return {
      even,
      odd,
      evenUnavailability,
      oddUnavailability,
      evenIsWorse: evenUnavailability > oddUnavailability,
    };
  });
}

/**
 * Number of nines of availability: -log10(unavailability). 99.9997% available (unavailability 3e-6)
 * is about 5.5 nines. Zero unavailability is infinitely many nines.
 */
export function nines(unavailabilityValue: number): number {
  assertProbability(unavailabilityValue, 'unavailability');
  // `0 -` turns the -0 that -log10(1) would give into 0.
  return 0 - Math.log10(unavailabilityValue);
}

/** Print a probability as `2.98e-4` or `0.0298%` with `digits` significant digits. */
export function formatProbability(
  value: number,
  notation: ProbabilityNotation = 'scientific',
  digits = 3,
): string {
  assertProbability(value, 'value');
  if (!Number.isInteger(digits) || digits < 1 || digits > 21) {
    throw new RangeError(`digits must be an integer in [1, 21], got ${String(digits)}`);
  }
  if (value === 0) return notation === 'percent' ? '0%' : '0';
  if (notation === 'percent') return `${(value * 100).toPrecision(digits)}%`;
  return value.toExponential(digits - 1);
}

function formatNines(unavailabilityValue: number): string {
  const n = nines(unavailabilityValue);
  return n === Infinity ? 'inf' : n.toFixed(1);
}

/**
 * Render rows from availabilityTable() as a plain-text table: right-aligned columns separated by
 * two spaces, a dashed rule under the header, no trailing whitespace, and nothing that depends on
 * locale or time, so the output is stable for tests and reports. All rows must share the same ps.
 */
export function formatQuorumTable(rows: readonly QuorumRow[], options: QuorumTableOptions = {}): string {
  const notation = options.notation ?? 'scientific';
  const digits = options.digits ?? 3;
  const showNines = options.nines ?? true;
  const ps = rows[0]?.unavailability.map((u) => u.p) ?? [];
  for (const row of rows) {
    const rowPs = row.unavailability.map((u) => u.p);
    if (rowPs.length !== ps.length || rowPs.some((p, i) => p !== ps[i])) {
      throw new Error(
        `row for ${row.members} members has probabilities [${rowPs.join(', ')}], expected [${ps.join(', ')}]`,
      );
    }
  }

  const header = ['members', 'majority', 'tolerates'];
  for (const p of ps) {
    header.push(`unavail p=${p}`);
    if (showNines) header.push(`nines p=${p}`);
  }
  const body = rows.map((row) => {
    const cells = [String(row.members), String(row.majority), String(row.toleratedFailures)];
    for (const u of row.unavailability) {
      cells.push(formatProbability(u.value, notation, digits));
      if (showNines) cells.push(formatNines(u.value));
    }
    return cells;
  });

  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...body.map(line)].join('\n');
}
