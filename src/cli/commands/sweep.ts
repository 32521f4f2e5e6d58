import { join } from 'node:path';
import { EXIT_HELP, exitCodeFor } from '../exit-codes.ts';
import type { Command } from 'commander';
import { BadInputError } from '../../errors.ts';
import { imageReferenceProblem } from '../../host/image-reference.ts';
import { chooseEtcd, withEtcdRequest } from '../../host/etcd-choice.ts';
import { addEtcdFlags, obtainChosenEtcd } from '../etcd-flag.ts';
import { checkWritableDir, integerIn, positiveInteger } from '../options.ts';
import { markRunCompleted, takeRunSignal } from '../interrupt.ts';
import { verdictMark } from '../../checks/check.ts';

interface SweepCommandOptions {
  readonly list: boolean;
  readonly etcd?: string;
  readonly image?: string;
  readonly out?: string;
  readonly seed?: number;
  readonly trials?: number;
  readonly json: boolean;
}

/**
 * `etcd-lab sweep`: etcd options × conditions × a fault, one cluster per cell, resumable.
 * Exit code 0: done (and every expectation held); 1: an expectation deviated; 3: one could not be decided; 2: bad input
 * or the lab failed; 130: interrupted (finished cells are kept for a resume).
 */
export function registerSweep(program: Command): void {
  const sweep = program
    .command('sweep')
    .addHelpText('after', EXIT_HELP)
    .description(
      'run a parameter sweep (a name from --list, or a YAML/JSON file); resumable with the same --out',
    )
    .argument('[sweep]', 'sweep name or file')
    .option('--list', 'list the sweeps shipped in lab/sweeps/', false)
    .option(
      '--out <dir>',
      'results directory; an interrupted run resumes there (default results/sweep-<name>-<time>)',
    )
    .option('--seed <n>', 'override the sweep’s seed', positiveInteger)
    .option('--trials <n>', 'override the trials per cell', integerIn(1, 1_000));
  addEtcdFlags(sweep, 'etcd version (e.g. 3.5.30) or image reference; overrides the file’s etcd:')
    .option('--json', 'print result.json to stdout', false)
    .action(async (name: string | undefined, options: SweepCommandOptions) => {
      if (options.list) {
        const { listSweepFiles, loadSweep, planCells } = await import('../../plans/sweep/spec.ts');
        for (const [shipped] of listSweepFiles()) {
          const { spec } = await loadSweep(shipped);
          process.stdout.write(
            `${shipped.padEnd(20)} ${String(planCells(spec).length).padStart(3)} cells  ${spec.title}\n`,
          );
        }
        return;
      }
      if (name === undefined) throw new BadInputError('name a sweep (see `etcd-lab sweep --list`) or a file');
      // Where results go is checked before anything runs (not after the first cell).
      await checkWritableDir(
        options.out === undefined ? 'results directory' : '--out',
        options.out ?? 'results',
      );
      const { loadSweep, validateSweep } = await import('../../plans/sweep/spec.ts');
      const loaded = await loadSweep(name);
      // The etcd flag overrides the file's etcd (or cluster.image).
      const choice = chooseEtcd(options, { spec: loaded.spec, source: loaded.file });
      const fromFile = choice === undefined ? loaded.spec : withEtcdRequest(loaded.spec, choice.request);
      // Overrides go through the same validation as the file (e.g. cells are hashed with them).
      const spec = validateSweep(
        {
          ...fromFile,
          ...(options.seed === undefined ? {} : { seed: options.seed }),
          ...(options.trials === undefined ? {} : { trials: options.trials }),
        },
        loaded.file,
      );
      const imageProblem =
        spec.cluster.image === undefined ? undefined : imageReferenceProblem(spec.cluster.image);
      if (imageProblem !== undefined)
        throw new BadInputError(`${loaded.file}: cluster.image: ${imageProblem}`);
      await obtainChosenEtcd(choice);
      const out =
        options.out ??
        join('results', `sweep-${spec.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      // The lab itself is loaded only now: refusing bad input takes a moment, not seconds.
      const { runSweep } = await import('../../plans/sweep/run-sweep.ts');
      // Ctrl-C aborts this after the cell in progress is torn down; finished cells stay for a resume.
      const { result, files } = await runSweep(spec, {
        out,
        signal: takeRunSignal(),
        // A completed sweep's result keeps its own exit code, even if Ctrl-C comes while it is written.
        onResult: (swept) => {
          if (swept.status === 'completed') markRunCompleted();
        },
      });
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        for (const check of result.checks) {
          process.stdout.write(
            `${verdictMark(check.verdict)} ${check.name}: ${check.observed} (expected ${check.expected})\n`,
          );
        }
        for (const boundary of result.spuriousElections) process.stdout.write(`${boundary.summary}\n`);
        process.stdout.write(
          `\n${spec.name}: ${result.status}, ${result.cells.length} cells${result.checks.length > 0 ? `, expectations ${result.verdict === 'held' ? 'held' : result.verdict.toUpperCase()}` : ''}\nresults: ${files.join(', ')}\n`,
        );
        if (result.status !== 'completed') {
          // The cells are hashed with the etcd they ran: a resume must name it again.
          const etcd = choice?.origin.startsWith('--') === true ? ` --etcd ${choice.request}` : '';
          process.stdout.write(
            `${result.error ?? ''}\nresume with: etcd-lab sweep ${name} --out ${out}${etcd}\n`,
          );
        }
      }
      process.exitCode = exitCodeFor(result.status, result.verdict);
    });
}
