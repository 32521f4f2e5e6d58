// `npm run bench -- verdict-stability <experiment> [runs] [--out DIR]`: runs an experiment N
// times in a row (each with its own cluster, seed = run number) and prints how often each
// verdict came out, each check's verdict counts, and the spread of each statistical figure.
// A verdict is only worth reporting when it is the same run after run on a quiet machine.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { basename, join } from 'node:path';
import { electionMs, tookLeader } from '../src/plans/experiment/hypothesis.ts';
import { runExperiment, type ExperimentResult } from '../src/plans/experiment/run-experiment.ts';
import { loadExperiment } from '../src/plans/experiment/experiment-files.ts';
import { renderRepetitionSummary, summarizeRepetitions } from '../src/plans/experiment/report/repetitions.ts';
import { writeBenchJson } from './lib/bench-output.ts';

const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const outDir = outIndex >= 0 ? args[outIndex + 1] : undefined;
const positional = args.filter((_, i) => outIndex < 0 || (i !== outIndex && i !== outIndex + 1));
const [name, runsText = '10'] = positional;
const runs = Number(runsText);
if (!name || !Number.isInteger(runs) || runs < 1) {
  console.error('usage: npm run bench -- verdict-stability <experiment> [runs ≥ 1] [--out DIR]');
  process.exit(2);
}
const { spec } = await loadExperiment(name);

const results: ExperimentResult[] = [];
const started = performance.now();
for (let run = 1; run <= runs; run++) {
  const t0 = performance.now();
  const { result } = await runExperiment(spec, { seed: run });
  results.push(result);
  const elections = result.steps.filter(tookLeader).map(electionMs);
  console.log(
    `run ${run}/${runs}: ${result.status}, ${result.verdict.toUpperCase()} in ${((performance.now() - t0) / 1000).toFixed(0)} s, load ${os.loadavg()[0]?.toFixed(1)}` +
      (elections.length > 0 ? `; elections ${elections.map((e) => e.toFixed(0)).join(' ')} ms` : '') +
      result.checks
        .filter((c) => c.verdict !== 'held')
        .map((c) => `\n    ${c.verdict}: ${c.name}: ${c.observed}`)
        .join(''),
  );
}

const summary = summarizeRepetitions(name, results);
// A file name from the experiment's: a path given instead of a name keeps only its last part.
const fileStem = `verdict-stability-${basename(name).replace(/\.ya?ml$/, '')}`;
console.log(
  `\n${((performance.now() - started) / 60_000).toFixed(1)} min, ${os.cpus().length} CPUs, load ${os.loadavg()[0]?.toFixed(1)} at the end`,
);
for (const line of renderRepetitionSummary(summary)) console.log(line);

console.log(
  `figures written to ${writeBenchJson(fileStem, { bench: 'verdict-stability', date: new Date().toISOString(), ...summary })}`,
);
if (outDir !== undefined) {
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `${fileStem}.json`);
  await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), ...summary }, null, 2)}\n`);
  console.log(`written: ${file}`);
}
process.exit(0);
