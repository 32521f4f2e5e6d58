import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';

describe('exit codes', () => {
  it('map verdicts and statuses: held 0, deviated 1, inconclusive 3, anything not completed 2', () => {
    expect(exitCodeFor('completed', 'held')).toBe(0);
    expect(exitCodeFor('completed', 'deviated')).toBe(1);
    expect(exitCodeFor('completed', 'inconclusive')).toBe(3);
    for (const verdict of ['held', 'deviated', 'inconclusive'] as const) {
      expect(exitCodeFor('failed', verdict)).toBe(2);
      expect(exitCodeFor('aborted', verdict)).toBe(2);
    }
  });
});
