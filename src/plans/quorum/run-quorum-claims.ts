/**
 * One run of the quorum claims (`etcd-lab quorum-validate`) as an experiment journal: the matrix and/or the availability run, the claims
 * with verdicts, and a status that says whether the lab itself failed.
 */
import os from 'node:os';
import type { Check } from '../../checks/check.ts';
import {
  endedBy,
  envelope,
  hostInfo,
  imageFields,
  runEnvironment,
  type ResultsEnvelope,
  type RunStatus,
} from '../../run/results-envelope.ts';
import { History } from '../../history/history.ts';
import { RunClock } from '../../util/clock.ts';
import {
  acknowledgedWritesClaim,
  quorumLossClaim,
  slowdownClaim,
  stepDownClaim,
  toleranceClaims,
} from './matrix.ts';
import {
  validateAvailabilityOptions,
  validateMatrixOptions,
  type AvailabilityRunOptions,
  type QuorumMatrixOptions,
} from './quorum-options.ts';
import { runAvailability, type AvailabilityResult } from './run-availability.ts';
import { runQuorumMatrix, type QuorumMatrixResult } from './run-matrix.ts';

/**
 * What a quorum-claims run adds to the results envelope (src/run/results-envelope.ts): the
 * matrix and the availability run, each null when not run (or when the run stopped before it
 * finished). The envelope's checks are the claims.
 */
export interface QuorumClaimsPayload {
  readonly matrix: Omit<QuorumMatrixResult, 'history'> | null;
  readonly availability: AvailabilityResult | null;
}

/** A quorum-claims run's result.json: the envelope and the payload (its kind stays 'quorum-validation'). */
export type QuorumClaimsResult = ResultsEnvelope<'quorum-validation'> & QuorumClaimsPayload;

/** Every claim the runs support, each with its verdict ('inconclusive' when the run could not decide it). */
export function quorumClaims(
  matrix: Omit<QuorumMatrixResult, 'history'> | null,
  availability: AvailabilityResult | null,
): Check[] {
  const claims: Check[] = [];
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

export interface QuorumClaimsOptions {
  readonly matrix?: Omit<QuorumMatrixOptions, 'clock' | 'history' | 'signal'>;
  readonly availability?: Omit<AvailabilityRunOptions, 'clock' | 'signal'>;
  readonly signal?: AbortSignal;
}

/**
 * Validates every option first (bad input throws BadInputError before anything starts), then runs
 * the matrix and the availability run. A lab failure is recorded as status 'failed' with its
 * message, an abort (Ctrl-C) as status 'aborted' (a part that stopped contributes no results; a
 * part that finished before it keeps its own).
 */
export async function runQuorumClaims(
  options: QuorumClaimsOptions,
): Promise<{ result: QuorumClaimsResult; history: History }> {
  if (options.matrix !== undefined) validateMatrixOptions(options.matrix);
  if (options.availability !== undefined) validateAvailabilityOptions(options.availability);
  const clock = new RunClock();
  const history = new History();
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  let matrix: Omit<QuorumMatrixResult, 'history'> | null = null;
  let availability: AvailabilityResult | null = null;
  let status: RunStatus = 'completed';
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
    ({ status, error } = endedBy(caught, options.signal));
  }
  const checks = quorumClaims(matrix, availability);
  // Every cluster of a quorum-claims run runs the same image; the first one that started names it (its
  // members, timing and run ID are that cluster's, recorded with it, not the run's).
  const cluster = imageFields(matrix?.clusters[0]?.environment ?? availability?.environment);
  const result: QuorumClaimsResult = {
    ...envelope({
      kind: 'quorum-validation',
      name: 'quorum-validate',
      title: 'Quorum: the model against real etcd',
      status,
      error,
      startedAt,
      durationMs: clock.now(),
      environment: runEnvironment(cluster, hostInfo(loadAtStart)),
      checks,
    }),
    matrix,
    availability,
  };
  return { result, history };
}
