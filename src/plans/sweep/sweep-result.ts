import type { ResultsEnvelope } from '../../run/results-envelope.ts';
import type { CellResult } from './cell-result.ts';
import type { SweepSpec } from './spec.ts';
import type { SpuriousElectionBoundary } from './spurious-elections.ts';
import type { SweepCheck } from './verdicts.ts';

/**
 * What a sweep adds to the results envelope (src/run/results-envelope.ts); the envelope's checks
 * are the expectations' checks, one per expectation, cell and measure (SweepCheck).
 */
export interface SweepPayload {
  readonly sweep: SweepSpec;
  /** Cells measured by this run and cells reused from an earlier, interrupted one. */
  readonly measuredCells: readonly string[];
  readonly reusedCells: readonly string[];
  readonly cells: readonly CellResult[];
  /** Per series of rtt cells, the election timeout / RTT from which on no spurious election was seen. */
  readonly spuriousElections: readonly SpuriousElectionBoundary[];
}

/**
 * A sweep's result.json: the envelope and the payload. Status completed: every cell measured;
 * aborted: interrupted (finished cells kept for a resume); failed: the lab failed.
 */
export type SweepResult = Omit<ResultsEnvelope<'sweep'>, 'checks'> &
  SweepPayload & { readonly checks: readonly SweepCheck[] };
