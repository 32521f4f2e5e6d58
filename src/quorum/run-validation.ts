/**
 * One validation run as an experiment journal: the matrix and/or the availability run, the claims
 * with verdicts, and a status that says whether the lab itself failed.
 */
import { combineVerdicts, type Verdict } from '../checks/distribution-claims.ts';
import { LabError } from '../errors.ts';
import type { HypothesisCheck } from '../experiments/run-experiment.ts';
import { History } from '../history/history.ts';
import { RunClock } from '../util/clock.ts';
import {
  acknowledgedWritesClaim,
  quorumLossClaim,
  slowdownClaim,
  stepDownClaim,
  toleranceClaims,
} from './matrix.ts';
import {
  runAvailability,
  runQuorumMatrix,
  validateAvailabilityOptions,
  validateMatrixOptions,
  type AvailabilityResult,
  type AvailabilityRunOptions,
  type QuorumMatrixOptions,
  type QuorumMatrixResult,
} from './validation.ts';

export interface QuorumValidationResult {
  readonly schemaVersion: 1;
  readonly kind: 'quorum-validation';
  /** completed: everything ran; failed: the lab failed (see error). */
  readonly status: 'completed' | 'failed';
  readonly error?: string;
  /** True when a cell disagreed with the model or a claim deviated. */
  readonly deviated: boolean;
  /** All claims together: deviated, else inconclusive when any claim could not be decided, else held. */
  readonly verdict: Verdict;
  readonly startedAt: string;
  readonly wallTimeMs: number;
  readonly claims: readonly HypothesisCheck[];
  readonly matrix: Omit<QuorumMatrixResult, 'history'> | null;
  readonly availability: AvailabilityResult | null;
}

/** Every claim the runs support, each with its verdict ('inconclusive' when the run could not decide it). */
export function validationClaims(
  matrix: Omit<QuorumMatrixResult, 'history'> | null,
  availability: AvailabilityResult | null,
): HypothesisCheck[] {
  const claims: HypothesisCheck[] = [];
  if (matrix !== null) {
    const cells = matrix.cells;
    const mismatched = cells.filter((c) => c.verdict === 'mismatch');
    const observed = cells.filter((c) => c.verdict !== 'not-applicable');
    claims.push({
      name: 'every cell of the matrix matches the model',
      expected: 'writes, reads and leader presence as the model predicts for each n and k',
      observed:
        mismatched.length === 0
          ? `${observed.length} cells observed, all match`
          : `${mismatched.length} of ${observed.length} cells differ: ${mismatched.map((c) => `n=${c.members} k=${c.down} ${c.mechanism} (${c.mismatches.join('; ')})`).join(', ')}`,
      verdict: observed.length === 0 ? 'inconclusive' : mismatched.length === 0 ? 'held' : 'deviated',
    });
    claims.push(...toleranceClaims(cells), quorumLossClaim(cells));
    claims.push(
      acknowledgedWritesClaim(
        matrix.clusters.map((c) => ({
          members: c.members,
          status: c.acknowledgedWrites?.status ?? 'unknown',
          message: c.acknowledgedWrites?.message ?? 'not checked (the cluster did not recover)',
        })),
      ),
    );
    if (cells.some((c) => c.mechanism === 'isolate')) {
      claims.push(stepDownClaim(cells, matrix.settings.electionTimeoutMs));
    }
    if (matrix.latency.length > 0) claims.push(slowdownClaim(matrix.latency));
  }
  if (availability !== null) claims.push(...availability.claims);
  return claims;
}

export interface QuorumValidationOptions {
  readonly matrix?: Omit<QuorumMatrixOptions, 'clock' | 'history' | 'signal'>;
  readonly availability?: Omit<AvailabilityRunOptions, 'clock' | 'signal'>;
  readonly signal?: AbortSignal;
}

/**
 * Validates every option first (bad input throws BadInputError before anything starts), then runs
 * the matrix and the availability run. A lab failure is recorded as status 'failed' with its
 * message (a part that failed contributes no results; a part that finished before it keeps its
 * own); an abort (Ctrl-C) is rethrown.
 */
export async function runQuorumValidation(
  options: QuorumValidationOptions,
): Promise<{ result: QuorumValidationResult; history: History }> {
  if (options.matrix !== undefined) validateMatrixOptions(options.matrix);
  if (options.availability !== undefined) validateAvailabilityOptions(options.availability);
  const clock = new RunClock();
  const history = new History();
  const startedAt = new Date().toISOString();
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  let matrix: Omit<QuorumMatrixResult, 'history'> | null = null;
  let availability: AvailabilityResult | null = null;
  let error: string | undefined;
  try {
    if (options.matrix !== undefined) {
      const { history: _history, ...rest } = await runQuorumMatrix({
        ...options.matrix,
        clock,
        history,
        ...signal,
      });
      matrix = rest;
    }
    if (options.availability !== undefined) {
      availability = await runAvailability({ ...options.availability, clock, ...signal });
    }
  } catch (caught) {
    if (options.signal?.aborted === true) throw caught;
    error = caught instanceof LabError ? caught.message : ((caught as Error).stack ?? String(caught));
  }
  const claims = validationClaims(matrix, availability);
  const result: QuorumValidationResult = {
    schemaVersion: 1,
    kind: 'quorum-validation',
    status: error === undefined ? 'completed' : 'failed',
    ...(error === undefined ? {} : { error }),
    deviated: claims.some((c) => c.verdict === 'deviated'),
    verdict: combineVerdicts(claims.map((c) => c.verdict)),
    startedAt,
    wallTimeMs: clock.now(),
    claims,
    matrix,
    availability,
  };
  return { result, history };
}
