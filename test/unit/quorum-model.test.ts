import { describe, expect, it } from 'vitest';
import {
  availabilityTable,
  dailyFailureProbability,
  evenSizeComparison,
  expectedFailuresPerDay,
  formatProbability,
  formatQuorumTable,
  hasQuorum,
  majority,
  memberDownProbability,
  nines,
  parseDuration,
  toleratedFailures,
  unavailability,
} from '../../src/plans/quorum/model.ts';

/** Relative closeness, for probabilities far below toBeCloseTo's absolute tolerance. */
function expectRelativelyClose(actual: number, expected: number, relTol = 1e-12): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(relTol * Math.abs(expected));
}

/** Binomial upper tail by the textbook formula, written independently of the model. */
function handTail(n: number, p: number, from: number): number {
  const choose = (a: number, b: number): number => {
    let c = 1;
    for (let i = 1; i <= b; i++) c = (c * (a - b + i)) / i;
    return c;
  };
  let sum = 0;
  for (let k = from; k <= n; k++) sum += choose(n, k) * p ** k * (1 - p) ** (n - k);
  return sum;
}

const INTERIOR_PS = [1e-9, 1e-6, 1e-4, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999];

describe('majority and toleratedFailures', () => {
  it.each([
    { n: 1, majority: 1, tolerated: 0 },
    { n: 2, majority: 2, tolerated: 0 },
    { n: 3, majority: 2, tolerated: 1 },
    { n: 4, majority: 3, tolerated: 1 },
    { n: 5, majority: 3, tolerated: 2 },
    { n: 6, majority: 4, tolerated: 2 },
    { n: 7, majority: 4, tolerated: 3 },
  ])('n=$n: majority $majority, tolerates $tolerated', ({ n, majority: m, tolerated }) => {
    expect(majority(n)).toBe(m);
    expect(toleratedFailures(n)).toBe(tolerated);
    expect(m + tolerated).toBe(n);
  });

  it('accepts sizes beyond 7', () => {
    expect(majority(100)).toBe(51);
    expect(toleratedFailures(100)).toBe(49);
  });

  it.each([0, -1, 2.5, Number.NaN, Infinity])('rejects n=%s with RangeError', (n) => {
    expect(() => majority(n)).toThrow(RangeError);
    expect(() => toleratedFailures(n)).toThrow(RangeError);
    expect(() => unavailability(n, 0.1)).toThrow(RangeError);
  });
});

describe('hasQuorum', () => {
  it('3 members survive one failure but not two', () => {
    expect(hasQuorum(3, 0)).toBe(true);
    expect(hasQuorum(3, 1)).toBe(true);
    expect(hasQuorum(3, 2)).toBe(false);
    expect(hasQuorum(3, 3)).toBe(false);
  });

  it('4 members survive one failure but not two, like 3', () => {
    expect(hasQuorum(4, 1)).toBe(true);
    expect(hasQuorum(4, 2)).toBe(false);
  });

  it('agrees with toleratedFailures for n=1..7', () => {
    for (let n = 1; n <= 7; n++) {
      for (let down = 0; down <= n; down++) {
        expect(hasQuorum(n, down)).toBe(down <= toleratedFailures(n));
      }
    }
  });

  it.each([-1, 4, 1.5, Number.NaN])('rejects down=%s for n=3', (down) => {
    expect(() => hasQuorum(3, down)).toThrow(RangeError);
  });

  it('rejects a bad n', () => {
    expect(() => hasQuorum(0, 0)).toThrow(RangeError);
  });
});

describe('unavailability', () => {
  it.each(INTERIOR_PS)('n=1 equals p (p=%s)', (p) => {
    expect(unavailability(1, p)).toBe(p);
  });

  it('n=3, p=0.01 is 3p²(1-p) + p³ = 0.000298', () => {
    const p = 0.01;
    const expected = 3 * p ** 2 * (1 - p) + p ** 3;
    expect(expected).toBeCloseTo(0.000298, 15);
    expectRelativelyClose(unavailability(3, p), expected);
  });

  it('n=5, p=0.1 is 10p³q² + 5p⁴q + p⁵ = 0.00856', () => {
    const p = 0.1;
    const q = 0.9;
    const expected = 10 * p ** 3 * q ** 2 + 5 * p ** 4 * q + p ** 5;
    expect(expected).toBeCloseTo(0.00856, 15);
    expectRelativelyClose(unavailability(5, p), expected);
  });

  it('n=7, p=0.1 is 35p⁴q³ + 21p⁵q² + 7p⁶q + p⁷ = 0.002728 (hand-computed)', () => {
    // 35·1e-4·0.729 = 2.5515e-3; 21·1e-5·0.81 = 1.701e-4; 7·1e-6·0.9 = 6.3e-6; 1e-7.
    expect(unavailability(7, 0.1)).toBeCloseTo(0.0025515 + 0.0001701 + 0.0000063 + 0.0000001, 15);
  });

  it('n=6, p=0.1 is 20p³q³ + 15p⁴q² + 6p⁵q + p⁶ = 0.01585, worse than n=5 (0.00856)', () => {
    // 20·1e-3·0.729 = 1.458e-2; 15·1e-4·0.81 = 1.215e-3; 6·1e-5·0.9 = 5.4e-5; 1e-6.
    expect(unavailability(6, 0.1)).toBeCloseTo(0.01458 + 0.001215 + 0.000054 + 0.000001, 15);
    expect(unavailability(6, 0.1)).toBeGreaterThan(unavailability(5, 0.1));
  });

  it('n=1 at the extremes: never down at p=0, always down at p=1; no failure tolerated', () => {
    expect(unavailability(1, 0)).toBe(0);
    expect(unavailability(1, 1)).toBe(1);
    expect(hasQuorum(1, 0)).toBe(true);
    expect(hasQuorum(1, 1)).toBe(false);
  });

  it('n=2 is 1-(1-p)²: losing either member loses quorum', () => {
    expectRelativelyClose(unavailability(2, 0.1), 1 - 0.9 ** 2);
  });

  it('matches the textbook binomial tail for n=1..7 over a grid of p', () => {
    for (let n = 1; n <= 7; n++) {
      for (const p of INTERIOR_PS) {
        expectRelativelyClose(unavailability(n, p), handTail(n, p, toleratedFailures(n) + 1), 1e-9);
      }
    }
  });

  it('keeps relative precision for tiny p (no 1 - x cancellation)', () => {
    // n=3: ≈ 3p² for tiny p; 1 - P(at most one down) would round to 0 here.
    expectRelativelyClose(unavailability(3, 1e-12), 3e-24, 1e-9);
  });

  it('p=0 gives 0 and p=1 gives 1 for every size', () => {
    for (let n = 1; n <= 7; n++) {
      expect(unavailability(n, 0)).toBe(0);
      expect(unavailability(n, 1)).toBe(1);
    }
  });

  it('stays a probability for large clusters (log-space coefficients)', () => {
    const u = unavailability(1001, 0.5);
    // Symmetric at p=0.5 with odd n: exactly half the outcomes have a majority down.
    expect(u).toBeCloseTo(0.5, 9);
    expect(unavailability(1001, 0.1)).toBeGreaterThanOrEqual(0);
    expect(unavailability(1001, 0.1)).toBeLessThan(1e-100);
    expect(unavailability(1001, 0.9)).toBeCloseTo(1, 12);
  });

  it('larger odd clusters are more available at small p', () => {
    const p = 0.01;
    expect(unavailability(5, p)).toBeLessThan(unavailability(3, p));
    expect(unavailability(7, p)).toBeLessThan(unavailability(5, p));
  });

  it.each([-0.1, 1.1, Number.NaN, Infinity])('rejects p=%s with RangeError', (p) => {
    expect(() => unavailability(3, p)).toThrow(RangeError);
  });
});

describe('even sizes', () => {
  it.each([
    [4, 3],
    [6, 5],
    [2, 1],
  ])('n=%i is worse than n=%i for every p in (0,1)', (even, odd) => {
    for (const p of INTERIOR_PS) {
      expect(unavailability(even, p)).toBeGreaterThan(unavailability(odd, p));
    }
  });

  it('n=4 vs n=3 at p=0.01 by hand: 6p²q² + 4p³q + p⁴ vs 3p²q + p³', () => {
    const p = 0.01;
    const q = 0.99;
    expectRelativelyClose(unavailability(4, p), 6 * p ** 2 * q ** 2 + 4 * p ** 3 * q + p ** 4);
    expectRelativelyClose(unavailability(3, p), 3 * p ** 2 * q + p ** 3);
  });

  it('evenSizeComparison lists (2,1), (4,3), (6,5) and flags the even size as worse', () => {
    const rows = evenSizeComparison(0.01);
    expect(rows.map((r) => [r.even, r.odd])).toEqual([
      [2, 1],
      [4, 3],
      [6, 5],
    ]);
    for (const r of rows) {
      expect(r.evenIsWorse).toBe(true);
      expect(r.evenUnavailability).toBe(unavailability(r.even, 0.01));
      expect(r.oddUnavailability).toBe(unavailability(r.odd, 0.01));
    }
  });

  it('evenSizeComparison is a tie at p=0 and p=1', () => {
    for (const p of [0, 1]) {
      for (const r of evenSizeComparison(p)) {
        expect(r.evenIsWorse).toBe(false);
        expect(r.evenUnavailability).toBe(r.oddUnavailability);
      }
    }
  });

  it('evenSizeComparison rejects a bad p', () => {
    expect(() => evenSizeComparison(2)).toThrow(RangeError);
  });
});

describe('member reliability', () => {
  it('MTTF 10y, MTTR 4h gives p = 4 / (87660 + 4)', () => {
    const p = memberDownProbability({ mttfHours: parseDuration('10y'), mttrHours: parseDuration('4h') });
    expect(parseDuration('10y')).toBe(87660);
    expectRelativelyClose(p, 4 / 87664);
    expect(p).toBeCloseTo(4.5629e-5, 9);
  });

  it('MTTR 0 means never down', () => {
    expect(memberDownProbability({ mttfHours: 100, mttrHours: 0 })).toBe(0);
  });

  it('equal MTTF and MTTR means down half the time', () => {
    expect(memberDownProbability({ mttfHours: 5, mttrHours: 5 })).toBe(0.5);
  });

  it('rejects non-positive MTTF and negative MTTR', () => {
    expect(() => memberDownProbability({ mttfHours: 0, mttrHours: 4 })).toThrow(RangeError);
    expect(() => memberDownProbability({ mttfHours: 100, mttrHours: -1 })).toThrow(RangeError);
    expect(() => memberDownProbability({ mttfHours: Number.NaN, mttrHours: 1 })).toThrow(RangeError);
  });
});

describe("the book's numbers", () => {
  const tenYears = 10 * 365.25 * 24;

  it('MTBF 10 years: 1/(10 × 365.25) ≈ 0.000274, about 0.03% a day', () => {
    const p = dailyFailureProbability(tenYears);
    expect(p).toBeCloseTo(1 / (10 * 365.25), 15);
    expect(p).toBeCloseTo(0.000274, 6);
    expect(formatProbability(p, 'percent', 1)).toBe('0.03%');
  });

  it('10,000 servers: ≈ 2.74 failures a day, "about 3 a day"', () => {
    const perDay = expectedFailuresPerDay(10_000, tenYears);
    expect(perDay).toBeCloseTo(2.74, 2);
    expect(Math.round(perDay)).toBe(3);
  });

  it('an empty fleet has no failures', () => {
    expect(expectedFailuresPerDay(0, tenYears)).toBe(0);
  });

  it('rejects bad inputs', () => {
    expect(() => dailyFailureProbability(0)).toThrow(RangeError);
    expect(() => dailyFailureProbability(12)).toThrow(RangeError);
    expect(() => expectedFailuresPerDay(-1, tenYears)).toThrow(RangeError);
    expect(() => expectedFailuresPerDay(1.5, tenYears)).toThrow(RangeError);
    expect(() => expectedFailuresPerDay(10, 0)).toThrow(RangeError);
  });
});

describe('parseDuration', () => {
  it.each([
    ['10y', 87660],
    ['1y', 8766],
    ['4h', 4],
    ['1.5h', 1.5],
    ['30m', 0.5],
    ['90s', 0.025],
    ['2d', 48],
    ['1w', 168],
    ['0h', 0],
    ['.5d', 12],
    [' 4h ', 4],
  ])('%j is %d hours', (text, hours) => {
    expect(parseDuration(text)).toBeCloseTo(hours, 12);
  });

  it.each(['', 'h', '4', '4 h x', '-4h', '4H', '1M', '4hours', '1e3h', '4h30m', 'abc', '1.h', '1,5h'])(
    'rejects %j with a message naming the text and the units',
    (text) => {
      expect(() => parseDuration(text)).toThrow(Error);
      expect(() => parseDuration(text)).toThrow(JSON.stringify(text));
      expect(() => parseDuration(text)).toThrow(
        /s \(seconds\), m \(minutes\), h \(hours\), d \(days\), w \(weeks\)/,
      );
    },
  );
});

describe('availabilityTable', () => {
  it('gives one row per size with one entry per p, in order', () => {
    const rows = availabilityTable([1, 3, 5], [0.01, 0.1]);
    expect(rows.map((r) => [r.members, r.majority, r.toleratedFailures])).toEqual([
      [1, 1, 0],
      [3, 2, 1],
      [5, 3, 2],
    ]);
    expect(rows[1]?.unavailability.map((u) => u.p)).toEqual([0.01, 0.1]);
    expectRelativelyClose(rows[1]?.unavailability[0]?.value ?? Number.NaN, 0.000298);
    expectRelativelyClose(rows[2]?.unavailability[1]?.value ?? Number.NaN, 0.00856);
  });

  it('rejects bad sizes and probabilities', () => {
    expect(() => availabilityTable([0], [0.1])).toThrow(RangeError);
    expect(() => availabilityTable([3], [1.5])).toThrow(RangeError);
  });
});

describe('nines and formatProbability', () => {
  it('99.9997% available is about 5.5 nines', () => {
    expect(nines(3e-6)).toBeCloseTo(5.52, 2);
    expect(nines(0.001)).toBeCloseTo(3, 12);
    expect(nines(1)).toBe(0);
    expect(nines(0)).toBe(Infinity);
  });

  it('formats scientific and percent notation', () => {
    expect(formatProbability(0.000298)).toBe('2.98e-4');
    expect(formatProbability(2.99e-6, 'scientific', 3)).toBe('2.99e-6');
    expect(formatProbability(0.000298, 'percent')).toBe('0.0298%');
    expect(formatProbability(0)).toBe('0');
    expect(formatProbability(0, 'percent')).toBe('0%');
    expect(formatProbability(1)).toBe('1.00e+0');
  });

  it('rejects bad values and digits', () => {
    expect(() => formatProbability(-1)).toThrow(RangeError);
    expect(() => formatProbability(0.5, 'scientific', 0)).toThrow(RangeError);
  });
});

describe('formatQuorumTable', () => {
  const rows = availabilityTable([1, 3, 4, 5], [0.01]);

  it('has the header, a rule, and the hand-computed values', () => {
    const text = formatQuorumTable(rows);
    const lines = text.split('\n');
    expect(lines).toHaveLength(2 + rows.length);
    expect(lines[0]).toBe('members  majority  tolerates  unavail p=0.01  nines p=0.01');
    expect(lines[1]).toMatch(/^[- ]+$/);
    // By hand at p=0.01: n=1 is p = 1.00e-2 (2.0 nines); n=3 is 3p²q + p³ = 2.98e-4 (3.5 nines);
    // n=4 is 6p²q² + 4p³q + p⁴ ≈ 5.92e-4 (3.2 nines); n=5 is 10p³q² + 5p⁴q + p⁵ ≈ 9.85e-6 (5.0 nines).
    expect(lines[2]?.trim().split(/\s+/)).toEqual(['1', '1', '0', '1.00e-2', '2.0']);
    expect(lines[3]?.trim().split(/\s+/)).toEqual(['3', '2', '1', '2.98e-4', '3.5']);
    expect(lines[4]?.trim().split(/\s+/)).toEqual(['4', '3', '1', '5.92e-4', '3.2']);
    expect(lines[5]?.trim().split(/\s+/)).toEqual(['5', '3', '2', '9.85e-6', '5.0']);
  });

  it('right-aligns every column to the same width', () => {
    const lines = formatQuorumTable(rows).split('\n');
    const widths = new Set(lines.map((l) => l.length));
    expect(widths.size).toBe(1);
    for (const line of lines) expect(line).toBe(line.trimEnd());
  });

  it('is deterministic', () => {
    expect(formatQuorumTable(rows)).toBe(formatQuorumTable(availabilityTable([1, 3, 4, 5], [0.01])));
  });

  it('supports percent notation and hiding nines', () => {
    const text = formatQuorumTable(availabilityTable([3], [0.01, 0.1]), {
      notation: 'percent',
      nines: false,
    });
    const lines = text.split('\n');
    expect(lines[0]).toBe('members  majority  tolerates  unavail p=0.01  unavail p=0.1');
    expect(lines[2]?.trim().split(/\s+/)).toEqual(['3', '2', '1', '0.0298%', '2.80%']);
  });

  it('prints inf nines at p=0', () => {
    const lines = formatQuorumTable(availabilityTable([3], [0])).split('\n');
    expect(lines[2]?.trim().split(/\s+/)).toEqual(['3', '2', '1', '0', 'inf']);
  });

  it('rejects rows with mismatched probabilities', () => {
    const mixed = [...availabilityTable([3], [0.01]), ...availabilityTable([5], [0.1])];
    expect(() => formatQuorumTable(mixed)).toThrow(/expected \[0\.01\]/);
  });

  it('prints only the header for no rows', () => {
    expect(formatQuorumTable([]).split('\n')[0]).toBe('members  majority  tolerates');
  });
});
