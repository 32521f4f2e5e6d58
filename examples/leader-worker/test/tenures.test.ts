import { describe, expect, it } from 'vitest';
import { overlapMs, type Tenure } from '../src/tenures.ts';

const tenure = (worker: string, startMs: number, endMs: number | null): Tenure => ({
  worker,
  startMs,
  endMs,
  endedBy: endMs === null ? null : 'fenced',
});

describe('overlap of tenures', () => {
  it('is zero when one worker stops before the next starts', () => {
    expect(overlapMs([tenure('a', 0, 100), tenure('b', 100, 200), tenure('a', 250, null)], 300)).toBe(0);
  });

  it('sums the time two different workers were both active, an open tenure up to now', () => {
    expect(overlapMs([tenure('a', 0, 150), tenure('b', 100, null)], 300)).toBe(50);
    expect(overlapMs([tenure('a', 0, null), tenure('b', 100, 200), tenure('c', 250, null)], 300)).toBe(
      100 + 50,
    );
  });

  it('does not count one worker against itself', () => {
    expect(overlapMs([tenure('a', 0, 100), tenure('a', 50, 150)], 200)).toBe(0);
  });
});
