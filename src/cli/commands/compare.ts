import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BadInputError } from '../../errors.ts';
import type { ExperimentResult } from '../../plans/experiment/run-experiment.ts';
import type { ComparedRun } from '../../plans/experiment/report/version-comparison.ts';
import { checkWritableDir } from '../options.ts';

/** One experiment result.json, or a BadInputError naming the file and what is wrong with it. */
async function readExperimentResult(file: string): Promise<ExperimentResult> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new BadInputError(`compare ${file}: not readable JSON (${(error as Error).message})`);
  }
  const r = parsed as Partial<ExperimentResult> | null;
  if (r === null || typeof r !== 'object' || r.kind !== 'experiment') {
    throw new BadInputError(
      `compare ${file}: not an experiment's result (kind ${JSON.stringify(r?.kind ?? null)}; sweeps and quorum runs are not compared by version)`,
    );
  }
  if (!Array.isArray(r.checks) || !Array.isArray(r.steps) || typeof r.environment !== 'object') {
    throw new BadInputError(`compare ${file}: an experiment result without checks, steps or environment`);
  }
  return r as ExperimentResult;
}

/**
 * The runs behind the arguments: a results directory (its result.json), or a directory whose
 * subdirectories are results directories — what `run --etcd a,b,c` writes, so its DIR compares
 * as a whole. Anything else is bad input naming the argument.
 */
export async function readComparedRuns(targets: readonly string[]): Promise<ComparedRun[]> {
  const runs: ComparedRun[] = [];
  for (const target of targets) {
    const info = await stat(target).catch(() => undefined);
    if (info === undefined || !info.isDirectory()) {
      throw new BadInputError(`compare ${target}: not a directory (give results directories)`);
    }
    const own = join(target, 'result.json');
    if (await stat(own).catch(() => undefined)) {
      runs.push({ result: await readExperimentResult(own), directory: target });
      continue;
    }
    const entries = (await readdir(target, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => join(target, e.name))
      .sort();
    const found: ComparedRun[] = [];
    for (const dir of entries) {
      const file = join(dir, 'result.json');
      if (await stat(file).catch(() => undefined)) {
        found.push({ result: await readExperimentResult(file), directory: dir });
      }
    }
    if (found.length === 0) {
      throw new BadInputError(`compare ${target}: no result.json in it or in its subdirectories`);
    }
    runs.push(...found);
  }
  return runs;
}

/** `etcd-lab compare DIR…`: the side-by-side version report from existing results directories. */
export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description(
      'put runs of one experiment side by side, a column per etcd version: results directories, or a directory of them (what `run --etcd a,b` writes)',
    )
    .argument('<dirs...>', 'results directories (or directories holding them)')
    .option(
      '--out <dir>',
      'write comparison.md, comparison.json and the election chart there instead of printing',
    )
    .option('--json', 'print the comparison as JSON', false)
    .action(async (targets: string[], options: { out?: string; json: boolean }) => {
      if (options.out !== undefined) await checkWritableDir('--out', options.out);
      const runs = await readComparedRuns(targets);
      const { comparisonProblem, compareVersions, renderVersionComparison } =
        await import('../../plans/experiment/report/version-comparison.ts');
      const { writeVersionComparison } =
        await import('../../plans/experiment/report/write-version-comparison.ts');
      const problem = comparisonProblem(runs);
      if (problem !== undefined) throw new BadInputError(`compare: ${problem}`);
      if (options.out !== undefined) {
        const files = await writeVersionComparison(options.out, runs);
        process.stdout.write(`comparison: ${files.join(', ')}\n`);
      } else if (options.json) {
        process.stdout.write(`${JSON.stringify(compareVersions(runs), null, 2)}\n`);
      } else {
        process.stdout.write(renderVersionComparison(compareVersions(runs)));
      }
    });
}
