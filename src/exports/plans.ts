// `etcd-lab/plans`: experiments, sweeps and the quorum validation as functions, as the CLI runs them.
export { runExperiment, type ExperimentResult } from '../plans/experiment/run-experiment.ts';
export { loadExperiment } from '../plans/experiment/experiment-files.ts';
export { validateExperiment, type ExperimentSpec } from '../plans/experiment/spec.ts';
export { writeResults } from '../plans/experiment/report/write-results.ts';
export {
  runVersionMatrix,
  type VersionRun,
  type VersionMatrixOptions,
} from '../plans/experiment/run-version-matrix.ts';
export {
  compareVersions,
  renderVersionComparison,
  type VersionComparison,
  type VersionColumn,
  type ComparedRun,
} from '../plans/experiment/report/version-comparison.ts';
export { writeVersionComparison } from '../plans/experiment/report/write-version-comparison.ts';
export {
  loadSweep,
  validateSweep,
  planCells,
  listSweepFiles,
  type SweepSpec,
  type SweepCell,
} from '../plans/sweep/spec.ts';
export { runSweep, type SweepRunOptions } from '../plans/sweep/run-sweep.ts';
export type { CellResult } from '../plans/sweep/run-cell.ts';
export type { SweepResult } from '../plans/sweep/sweep-result.ts';
export * from '../plans/quorum/model.ts';
export type { QuorumMatrixOptions } from '../plans/quorum/quorum-options.ts';
export { runQuorumMatrix, type QuorumMatrixResult } from '../plans/quorum/run-matrix.ts';
export { runAvailability, type AvailabilityResult } from '../plans/quorum/run-availability.ts';
export { runQuorumClaims, type QuorumClaimsResult } from '../plans/quorum/run-quorum-claims.ts';
export {
  RESULTS_SCHEMA_VERSION,
  writeEnvelope,
  renderJunit,
  type ResultsEnvelope,
  type RunEnvironment,
  type PlanKind,
  type RunStatus,
} from '../run/results-envelope.ts';
