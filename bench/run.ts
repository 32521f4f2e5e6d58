// `npm run bench -- <name> [--etcd <version|image>] [args]` runs bench/<name>.ts; without a name, lists them.
// `npm run bench -- all` runs every benchmark in turn, each with its default arguments.
// Benchmarks print figures; they are not timed tests and never fail on a number.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installExitHandlers } from '../src/host/cleanup.ts';
import { prepareHost } from '../src/host/prepare-host.ts';
import { takeEtcdArg } from './lib/etcd-arg.ts';
import { GOALS_FILE_ENV, printGoals, readGoals, writeGoalsDoc } from './lib/goals.ts';

// `--etcd <version|image>`, anywhere, for any benchmark: it runs with ETCD_IMAGE set to that.
const taken = takeEtcdArg(process.argv.slice(2));
if ('problem' in taken) {
  console.error(`bench: ${taken.problem}`);
  process.exit(2);
}
if (taken.etcd !== undefined) process.env.ETCD_IMAGE = taken.etcd;
const [name, ...args] = taken.args;
const available = readdirSync(new URL('.', import.meta.url))
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.replace(/\.ts$/, ''));

/** Arguments under `all` for benchmarks that need some; the suite runs last (it takes longest). */
const ALL_ARGS: Readonly<Record<string, readonly string[]>> = { 'verdict-stability': ['leader-loss', '3'] };
const allOrder = [...available.filter((b) => b !== 'suite'), ...available.filter((b) => b === 'suite')];

if (name === 'all') {
  // Every benchmark appends its "goal:" lines here; the table at the end puts them together.
  const goalsFile = join(mkdtempSync(join(tmpdir(), 'etcd-lab-bench-')), 'goals.jsonl');
  process.env[GOALS_FILE_ENV] = goalsFile;
  const startedAt = new Date();
  const { image } = await prepareHost(); // built or found once, before any figure
  const etcd = `${image.etcdVersion} (${image.image})`;
  const failed: string[] = [];
  // Ctrl-C reaches the running benchmark too (one process group): this process waits for it to
  // heal and remove what it made, then stops, rather than dying at once and returning the prompt.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
  // One process per benchmark: each starts from a clean process (no cached host probe, no open clients).
  for (const bench of allOrder) {
    const benchArgs = ALL_ARGS[bench] ?? [];
    console.log(`\n=== ${[bench, ...benchArgs].join(' ')} ===`);
    // ETCD_IMAGE (set from --etcd above) is inherited.
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), bench, ...benchArgs],
      { stdio: 'inherit' },
    );
    if (run.status === 130 || run.status === 143 || run.signal === 'SIGINT' || run.signal === 'SIGTERM') {
      console.log(`=== ${bench} interrupted: the benchmarks after it are not run ===`);
      process.exit(run.status ?? 130);
    }
    if (run.status !== 0) {
      console.log(`=== ${bench} ended with status ${run.status ?? run.signal} ===`);
      failed.push(`${bench} (${run.status === null ? String(run.signal) : `exit ${run.status}`})`);
    }
  }
  const goals = readGoals(goalsFile);
  console.log(`\n=== goals (issue #17), measured in this run, ${new Date().toISOString()} ===`);
  printGoals(goals);
  console.log(`\nwritten to ${writeGoalsDoc(goals, { startedAt, etcd, failed })}`);
  process.exit(0);
}
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}|all> [--etcd <version|image>] [args]`);
  process.exit(name ? 2 : 0);
}
process.argv = [process.argv[0] ?? 'node', name, ...args];
// Ctrl-C, SIGTERM or a crash: faults healed and clusters removed before the bench exits.
installExitHandlers({ uncaught: true });
await import(`./${name}.ts`);
