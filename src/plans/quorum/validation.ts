/**
 * The quorum model checked on real etcd, by its parts: options and their checks
 * (quorum-options.ts), the n × k matrix (run-matrix.ts, one cell in matrix-cell.ts) and the
 * availability run (run-availability.ts). This module keeps the old import path working.
 */
export {
  DEFAULT_LATENCY_LOAD,
  LATENCY_SIZES,
  QUORUM_TIMING,
  validateAvailabilityOptions,
  validateMatrixOptions,
  type AvailabilityRunOptions,
  type LatencyLoad,
  type MatrixSettings,
  type QuorumMatrixOptions,
} from './quorum-options.ts';
export {
  runQuorumMatrix,
  type ClusterRun,
  type LatencyBySize,
  type QuorumMatrixResult,
} from './run-matrix.ts';
export { runAvailability, type AvailabilityResult, type FractionWithInterval } from './run-availability.ts';
