import type { History } from '../../history/history.ts';
import { withEtcdRequest } from '../../host/etcd-choice.ts';
import { progress } from '../../util/log.ts';
import type { ExperimentResult, RunOptions } from './experiment-types.ts';
import { runExperiment } from './run-experiment.ts';
import type { ExperimentSpec } from './spec.ts';

export interface VersionRun {
  /** The version or image as asked ("3.5.30"); the result's environment says what really ran. */
  readonly request: string;
  readonly result: ExperimentResult;
}

export interface VersionMatrixOptions extends Omit<RunOptions, 'image' | 'history'> {
  /** Called after each run, before the next starts (the CLI writes that version's results here). */
  readonly onRun?: (run: VersionRun, history: History, index: number) => Promise<void>;
}

/**
 * The same experiment once per etcd version, one after another (never two clusters at once:
 * their timing would be each other's noise), with the same seed so every version meets the same
 * workload and the same fault targets. A run that fails or is aborted ends the matrix: a signal
 * stops what is left, a lab failure would likely repeat. Images are expected to be obtained
 * already (the CLI does that first, so an unobtainable version is refused before anything runs).
 */
export async function runVersionMatrix(
  spec: ExperimentSpec,
  requests: readonly string[],
  options: VersionMatrixOptions = {},
): Promise<VersionRun[]> {
  const { onRun, ...runOptions } = options;
  const runs: VersionRun[] = [];
  for (const [index, request] of requests.entries()) {
    if (runOptions.signal?.aborted) break;
    progress(`${spec.name}: etcd ${request} (${index + 1} of ${requests.length})`);
    const { result, history } = await runExperiment(withEtcdRequest(spec, request), runOptions);
    const run = { request, result };
    runs.push(run);
    await onRun?.(run, history, index);
    if (result.status !== 'completed') break;
  }
  return runs;
}
