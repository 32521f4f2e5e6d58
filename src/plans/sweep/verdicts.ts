import type { CellResult } from './cell-result.ts';
import {
  expectationApplies,
  inRange,
  type SweepCell,
  type SweepExpectation,
  type ValueRange,
} from './spec.ts';

import type { Check, Verdict } from '../../checks/check.ts';

export type { Verdict };

/**
 * One check of one expectation on one cell, in the lab's one Check shape: its name says which
 * expectation, cell and measure ("quiet [cell label] leader changes in the quiet windows").
 */
export interface SweepCheck extends Check {
  readonly expectation: string;
  readonly cellId: string;
  readonly label: string;
  /** The measure checked, e.g. "term jump on heal (each trial)". */
  readonly check: string;
}

/**
 * Checks every expectation against the cells its `where` selects (pure). A per-trial check
 * (term jump, leader changes on heal) holds only when every trial is inside the range; a
 * missing measurement is 'inconclusive', never 'held'.
 */
export function evaluateExpectations(
  expectations: readonly SweepExpectation[],
  cells: readonly { readonly cell: SweepCell; readonly result: CellResult }[],
): SweepCheck[] {
  const verdicts: SweepCheck[] = [];
  for (const expectation of expectations) {
    for (const { cell, result } of cells) {
      if (!expectationApplies(expectation, cell)) continue;
      const add = (check: string, range: ValueRange, values: readonly (number | null)[]) =>
        verdicts.push({
          name: `${expectation.name} [${cell.label}] ${check}`,
          expectation: expectation.name,
          cellId: cell.cellId,
          label: cell.label,
          check,
          expected: describeRange(range),
          observed:
            values.length === 0 ? 'no data' : values.map((v) => (v === null ? '?' : round(v))).join(', '),
          verdict: judge(range, values),
        });
      const heals = result.heals ?? [];
      if (expectation.termJumpOnHeal) {
        add(
          'term jump on heal (each trial)',
          expectation.termJumpOnHeal,
          heals.map((h) => h.termJump),
        );
      }
      if (expectation.leaderChangesOnHeal) {
        add(
          'leader changes after heal (each trial)',
          expectation.leaderChangesOnHeal,
          heals.map((h) => h.leaderChangesOnHeal),
        );
      }
      if (expectation.spuriousLeaderChanges) {
        add(
          'leader changes in the quiet windows',
          expectation.spuriousLeaderChanges,
          result.quiet ? [result.quiet.leaderChanges] : [],
        );
      }
      if (expectation.spuriousLeaderChangesPerMinute) {
        add(
          'leader changes per minute without a fault',
          expectation.spuriousLeaderChangesPerMinute,
          result.quiet ? [result.quiet.leaderChangesPerMinute] : [],
        );
      }
      if (expectation.electionMedianMs) {
        add(
          'median election time (ms)',
          expectation.electionMedianMs,
          result.elections ? [result.elections.summary.logElected.median] : [],
        );
      }
    }
  }
  return verdicts;
}

export function judge(range: ValueRange, values: readonly (number | null)[]): Verdict {
  if (values.length === 0 || values.some((v) => v === null)) return 'inconclusive';
  return values.every((v) => v !== null && inRange(range, v)) ? 'held' : 'deviated';
}

export function describeRange(range: ValueRange): string {
  if (range.min !== undefined && range.max !== undefined) {
    return range.min === range.max ? `= ${range.min}` : `${range.min} … ${range.max}`;
  }
  return range.min !== undefined ? `≥ ${range.min}` : `≤ ${range.max}`;
}

const round = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));
