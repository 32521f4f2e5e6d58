// How long the test suite takes, per tier (vitest project), next to issue #17's goal: the full
// suite ≤ 10 minutes of test time on this machine. Runs `npm test` (scripts/test.ts: the long
// tier beside the others) with the slow tests on, as CI does, and reads the merged JSON report;
// `--from FILE` reads an existing report instead (e.g. results/vitest.json of a CI run) and says which.
// Usage: npm run bench -- suite [--from results/vitest.json]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeBenchJson } from './lib/bench-output.ts';
import { reportGoal } from './lib/goals.ts';

interface VitestReport {
  readonly startTime: number;
  readonly numPassedTests: number;
  readonly numFailedTests: number;
  readonly testResults: readonly { name: string; startTime: number; endTime: number }[];
}

const GOAL_MINUTES = 10;
const args = process.argv.slice(2);
const fromIndex = args.indexOf('--from');
let reportPath: string;
let source: string;
if (fromIndex >= 0) {
  const from = args[fromIndex + 1];
  if (from === undefined) {
    console.error('suite: --from needs a vitest JSON report file');
    process.exit(2);
  }
  reportPath = from;
  source = `${from}, written ${statSync(from).mtime.toISOString()}`;
} else {
  reportPath = 'results/vitest.json';
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/test.ts'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ETCD_LAB_SLOW_TESTS: '1' },
  });
  source = `this run of npm test (exit ${run.status ?? run.signal})`;
  if (!existsSync(reportPath)) {
    console.error(`suite: npm test wrote no ${reportPath}`);
    process.exit(1);
  }
}

const report = JSON.parse(readFileSync(reportPath, 'utf8')) as VitestReport;
const tierOf = (file: string): string => /\/test\/([\w-]+)\//.exec(file)?.[1] ?? 'other';
const tiers = new Map<string, { files: number; ms: number }>();
for (const file of report.testResults) {
  const tier = tiers.get(tierOf(file.name)) ?? { files: 0, ms: 0 };
  tiers.set(tierOf(file.name), { files: tier.files + 1, ms: tier.ms + (file.endTime - file.startTime) });
}
const endTime = Math.max(...report.testResults.map((file) => file.endTime));
const wallMs = endTime - report.startTime;
const minutes = (ms: number): string => `${(ms / 60_000).toFixed(1)} min`;

console.log(`suite report: ${source}`);
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed; wall ${minutes(wallMs)}`);
for (const [tier, { files, ms }] of [...tiers].sort()) {
  console.log(`  ${tier.padEnd(12)} ${String(files).padStart(3)} files, ${minutes(ms)} in test files`);
}
console.log(
  '  (wall minus the files: global setup, image builds, collection and hooks vitest does not time)',
);
reportGoal({
  what: 'full suite (unit + host + cluster), test time',
  goal: `≤ ${GOAL_MINUTES} min`,
  measured: `${minutes(wallMs)} (${report.numPassedTests} passed, ${report.numFailedTests} failed)`,
  met: wallMs <= GOAL_MINUTES * 60_000,
});
const written = writeBenchJson('suite', {
  bench: 'suite',
  source,
  passed: report.numPassedTests,
  failed: report.numFailedTests,
  wallMs,
  tiers: Object.fromEntries(tiers),
});
console.log(`figures written to ${written}`);
