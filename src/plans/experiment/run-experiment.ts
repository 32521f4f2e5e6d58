import type { History } from '../../history/history.ts';
import type { ExperimentResult, RunOptions } from './experiment-types.ts';
import { runFaultExperiment } from './run-fault-experiment.ts';
import { runLeaseElectionExperiment } from './run-lease-election.ts';
import type { ExperimentSpec } from './spec.ts';

/**
 * The experiment runner's entry point. The parts, one concern each, imports going one way
 * (spec → types → analysis → runner):
 * - experiment-types.ts: run options, a running step, the step and experiment results;
 * - step-timing.ts: when a step's fault took effect;
 * - hypothesis.ts: the hypothesis' tolerances judged as checks (pure);
 * - step-analysis.ts: windows, baseline latencies, write stalls and elections from the history (pure);
 * - run-method.ts: the method's steps at their times (inject, heal, load steps);
 * - run-fault-experiment.ts: cluster, workload and method together, then the result;
 * - run-lease-election.ts: the lease-election experiment.
 * The names importers use are re-exported here.
 */

export type { HypothesisCheck, Verdict } from './hypothesis.ts';
export type { ExperimentPayload, ExperimentResult, RunOptions, StepResult } from './experiment-types.ts';
export { effectiveAt } from './step-timing.ts';
export { startCluster } from './start-cluster.ts';

/**
 * Runs one experiment (validated by `validateExperiment`, overrides applied). What the
 * cluster does wrong becomes a deviated check; only the lab's own failures make the status 'failed'.
 */
export function runExperiment(
  spec: ExperimentSpec,
  options: RunOptions = {},
): Promise<{ result: ExperimentResult; history: History }> {
  return spec.kind === 'lease-election'
    ? runLeaseElectionExperiment(spec, options)
    : runFaultExperiment(spec, options);
}
