// `npm test`: the whole suite. The long tier (test/cluster-long: tests that mostly wait, like
// etcd's fixed 5-minute lease checkpoint) runs in a second vitest process beside the unit,
// host and cluster tests instead of after them: it is idle nearly all of its 6 minutes. Its
// output is kept in results/vitest-long.log and printed once the other tests are done; the two
// JSON reports are merged into results/vitest.json (what CI counts). With arguments
// (`npm test -- test/unit`), this is plain `vitest run <arguments>`.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { prepareHost } from '../src/host/prepare-host.ts';
import { mergeVitestReports, type VitestReport } from './lib/vitest-reports.ts';

const args = process.argv.slice(2);
const children = new Set<ChildProcess>();
const ended = (child: ChildProcess): Promise<number> =>
  new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1))),
  );

// Ctrl-C reaches the children through the terminal; a signal sent to this process alone is passed on.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupted = true;
    for (const child of children) child.kill(signal);
  });
}

function vitest(vitestArgs: readonly string[], env: Record<string, string>, log?: string): ChildProcess {
  const child = spawn('npx', ['vitest', 'run', ...vitestArgs], {
    env: { ...process.env, ...env },
    stdio: log === undefined ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  if (log !== undefined) {
    const file = createWriteStream(log);
    child.stdout?.pipe(file);
    child.stderr?.pipe(file);
  }
  children.add(child);
  void ended(child).then(() => children.delete(child));
  return child;
}

if (args.length > 0) {
  process.exit(await ended(vitest(args, {})));
}

mkdirSync('results', { recursive: true });
const MAIN_JSON = 'results/vitest-main.json';
const LONG_JSON = 'results/vitest-long.json';
const LONG_LOG = 'results/vitest-long.log';
for (const file of [MAIN_JSON, LONG_JSON, 'results/vitest.json']) rmSync(file, { force: true });

// The etcd image is built (or found) once here, so the two processes do not both build it.
await prepareHost();

const began = performance.now();
const long = vitest(['--project', 'cluster-long'], { ETCD_LAB_VITEST_JSON: LONG_JSON }, LONG_LOG);
const longDone = ended(long).then((status) => ({ status, seconds: (performance.now() - began) / 1000 }));
const mainStatus = await ended(
  vitest(['--project', 'unit', '--project', 'host', '--project', 'cluster'], {
    ETCD_LAB_VITEST_JSON: MAIN_JSON,
  }),
);
const mainSeconds = (performance.now() - began) / 1000;
if (children.size > 0 && !interrupted) console.log('\nwaiting for the long tier (test/cluster-long)…');
const longRun = await longDone;
console.log(`\n--- long tier (test/cluster-long), run beside the others: ${LONG_LOG} ---`);
if (existsSync(LONG_LOG)) process.stdout.write(readFileSync(LONG_LOG, 'utf8'));

const merged = mergeVitestReports(
  [MAIN_JSON, LONG_JSON]
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')) as VitestReport),
);
if (merged !== undefined) writeFileSync('results/vitest.json', JSON.stringify(merged));
console.log(
  `\ntiers: unit + host + cluster ${mainSeconds.toFixed(0)} s (exit ${mainStatus}); ` +
    `cluster-long ${longRun.seconds.toFixed(0)} s beside them (exit ${longRun.status}); ` +
    `reports merged into results/vitest.json`,
);
process.exit(interrupted ? 130 : mainStatus !== 0 ? mainStatus : longRun.status);
