import { join } from 'node:path';
import { EXIT, EXIT_HELP, exitCodeFor } from '../exit-codes.ts';
import type { Command } from 'commander';
import { BadInputError } from '../../errors.ts';
import { imageReferenceProblem } from '../../host/image-reference.ts';
import { chooseEtcdRuns, withEtcdRequest, type EtcdChoice } from '../../host/etcd-choice.ts';
import { addEtcdFlags, obtainChosenEtcd } from '../etcd-flag.ts';
import { checkWritableDir, integerIn, positiveInteger } from '../options.ts';
import { markRunCompleted, takeRunSignal } from '../interrupt.ts';
import { verdictMark } from '../../checks/check.ts';

interface RunCommandOptions {
  readonly members?: number;
  readonly etcd?: string;
  readonly image?: string;
  readonly out?: string;
  readonly seed?: number;
  readonly json: boolean;
}

/** `etcd-lab list` and `etcd-lab run`. Exit codes: see EXIT_HELP (0 held, 1 deviated, 3 inconclusive, 2 lab failure or bad input, 130 interrupted). */
export function registerRun(program: Command): void {
  program
    .command('list')
    .description('list the experiments shipped in lab/')
    .action(async () => {
      const { listExperimentFiles, loadExperiment } =
        await import('../../plans/experiment/experiment-files.ts');
      for (const [name] of listExperimentFiles()) {
        const { spec } = await loadExperiment(name);
        process.stdout.write(`${name.padEnd(24)} ${spec.title}\n`);
      }
    });

  const run = program
    .command('run')
    .addHelpText('after', EXIT_HELP)
    .description(
      'run an experiment (a name from `list`, or a YAML/JSON file) and write its results directory',
    )
    .argument('<experiment>', 'experiment name or file')
    .option('-m, --members <n>', 'override the cluster size (1-7)', integerIn(1, 7));
  addEtcdFlags(
    run,
    'etcd version (e.g. 3.5.30) or image reference, or several comma-separated (3.4.23,3.5.30: a version matrix, one run each and a comparison.md); overrides the file’s etcd:',
    { matrix: true },
  )
    .option('--out <dir>', 'results directory (default results/<name>-<time>)')
    .option('--seed <n>', 'seed for the workload and role resolution', positiveInteger)
    .option('--json', 'print result.json to stdout', false)
    .action(async (experiment: string, options: RunCommandOptions) => {
      // Everything is validated before anything starts: the results directory (not after the run),
      await checkWritableDir(
        options.out === undefined ? 'results directory' : '--out',
        options.out ?? 'results',
      );
      // and the experiment, with the size override, so targets are checked against it.
      const { loadExperiment } = await import('../../plans/experiment/experiment-files.ts');
      const loaded = await loadExperiment(
        experiment,
        options.members === undefined ? {} : { members: options.members },
      );
      const { file } = loaded;
      const fileImage = loaded.spec.cluster.image;
      const imageProblem = fileImage === undefined ? undefined : imageReferenceProblem(fileImage);
      if (imageProblem !== undefined) throw new BadInputError(`${file}: cluster.image: ${imageProblem}`);
      // The flag overrides the file, and the spec the result records says which etcd ran.
      const choices = chooseEtcdRuns(options, { spec: loaded.spec, source: file });
      if (choices.length > 1) {
        await runMatrix(loaded.spec, choices, options);
        return;
      }
      const choice = choices[0];
      const spec = choice === undefined ? loaded.spec : withEtcdRequest(loaded.spec, choice.request);
      await obtainChosenEtcd(choice);
      // The lab itself is loaded only now: refusing bad input takes a moment, not seconds.
      const { runExperiment } = await import('../../plans/experiment/run-experiment.ts');
      const { writeResults } = await import('../../plans/experiment/report/write-results.ts');
      const { result, history } = await runExperiment(spec, {
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        // Ctrl-C aborts this: the run stops in order and its aborted result is written below.
        signal: takeRunSignal(),
      });
      // A completed run's result keeps its own exit code, even if Ctrl-C comes while it is written.
      if (result.status === 'completed') markRunCompleted();
      const dir = options.out ?? join('results', `${spec.name}-${result.startedAt.replace(/[:.]/g, '-')}`);
      const files = await writeResults(dir, result, history);
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        for (const check of result.checks) {
          process.stdout.write(
            `${verdictMark(check.verdict)} ${check.name}: ${check.observed} (expected ${check.expected})\n`,
          );
        }
        process.stdout.write(
          `\n${spec.name}: ${result.status}, hypothesis ${result.verdict === 'held' ? 'held' : result.verdict.toUpperCase()}\nresults: ${files.join(', ')}\n`,
        );
      }
      process.exitCode = exitCodeFor(result.status, result.verdict);
    });
}

/** A label safe in a directory name: "3.5.30", "etcd-lab-etcd-3.5.30" for an image reference. */
const directoryLabel = (request: string) => request.replace(/^v(?=\d)/, '').replace(/[^A-Za-z0-9._-]+/g, '-');

/**
 * `run --etcd a,b,c` (or a list in the file's `etcd:`): every version's image is obtained first —
 * an unobtainable one is refused before any cluster starts — then the experiment runs once per
 * version into DIR/etcd-<version>/, and DIR/comparison.md puts them side by side. The exit code is
 * the worst of the runs: a lab failure or a signal first, then deviated, inconclusive, held.
 */
async function runMatrix(
  loadedSpec: import('../../plans/experiment/spec.ts').ExperimentSpec,
  choices: readonly EtcdChoice[],
  options: RunCommandOptions,
): Promise<void> {
  for (const choice of choices) await obtainChosenEtcd(choice);
  const { runVersionMatrix } = await import('../../plans/experiment/run-version-matrix.ts');
  const { writeResults } = await import('../../plans/experiment/report/write-results.ts');
  const { writeVersionComparison } =
    await import('../../plans/experiment/report/write-version-comparison.ts');
  const startedAt = new Date().toISOString();
  const dir = options.out ?? join('results', `${loadedSpec.name}-matrix-${startedAt.replace(/[:.]/g, '-')}`);
  const directories: string[] = [];
  const runs = await runVersionMatrix(
    loadedSpec,
    choices.map((c) => c.request),
    {
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      signal: takeRunSignal(),
      onRun: async ({ request, result }, history) => {
        const runDir = join(dir, `etcd-${directoryLabel(request)}`);
        await writeResults(runDir, result, history);
        directories.push(runDir);
        process.stdout.write(
          `etcd ${request} (${String(result.environment.etcdVersion)}): ${result.status}, hypothesis ${result.verdict === 'held' ? 'held' : result.verdict.toUpperCase()} — ${runDir}\n`,
        );
      },
    },
  );
  const worst = matrixExitCode(runs.map((r) => exitCodeFor(r.result.status, r.result.verdict)));
  if (runs.length === choices.length && runs.every((r) => r.result.status === 'completed'))
    markRunCompleted();
  if (runs.length === 0) {
    process.exitCode = worst;
    return; // stopped before the first run finished: nothing to compare
  }
  const files = await writeVersionComparison(
    dir,
    runs.map((r, i) => ({ result: r.result, directory: directories[i] ?? dir })),
  );
  if (options.json) {
    const { compareVersions } = await import('../../plans/experiment/report/version-comparison.ts');
    process.stdout.write(
      `${JSON.stringify(compareVersions(runs.map((r) => ({ result: r.result }))), null, 2)}\n`,
    );
  } else {
    const missing = choices.length - runs.length;
    process.stdout.write(
      `\n${loadedSpec.name} on etcd ${choices.map((c) => c.request).join(', ')}: ${runs.length} of ${choices.length} runs${missing > 0 ? ` (the matrix stopped after a run that did not complete)` : ''}\ncomparison: ${files.join(', ')}\n`,
    );
  }
  process.exitCode = worst;
}

/** The matrix's exit code: interrupted or lab failure first, then deviated, inconclusive, held. */
export function matrixExitCode(codes: readonly number[]): number {
  const rank = (code: number) =>
    code === EXIT.ok
      ? 0
      : code === EXIT.inconclusive
        ? 1
        : code === EXIT.deviated
          ? 2
          : code === EXIT.labFailure
            ? 3
            : 4;
  return codes.reduce((worst, code) => (rank(code) > rank(worst) ? code : worst), EXIT.ok);
}
