// `npm run test:stress -- <test file> [times] [--cpu-hog]`: runs one test file `times` times
// in a row (default 5) and prints its failure rate. With --cpu-hog a busy-looping process
// keeps one core at 100 % throughout, as a noisy CI machine would: a cluster test that only
// passes on a quiet machine is a flaky test. Exit code 0 when every run passed, 1 otherwise.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const args = process.argv.slice(2);
const cpuHog = args.includes('--cpu-hog');
const [file, timesText = '5'] = args.filter((a) => a !== '--cpu-hog');
const times = Number(timesText);
if (!file || !existsSync(file) || !Number.isInteger(times) || times < 1) {
  console.error('usage: npm run test:stress -- <test file> [times ≥ 1] [--cpu-hog]');
  process.exit(2);
}

// The hog is a separate process so the tests' own event loops are not the ones starved.
const hog = cpuHog ? spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }) : null;
const stopHog = (): void => {
  hog?.kill('SIGKILL');
};
process.on('exit', stopHog);
process.on('SIGINT', () => process.exit(130));

const outcomes: { run: number; passed: boolean; seconds: number; failures: string[] }[] = [];
for (let run = 1; run <= times; run++) {
  const started = performance.now();
  const vitest = spawnSync('npx', ['vitest', 'run', file, '--reporter=dot'], {
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - started) / 1000;
  // vitest colours its output even with FORCE_COLOR=0; the failure lines are matched without colour.
  // eslint-disable-next-line no-control-regex
  const output = `${vitest.stdout}${vitest.stderr}`.replace(/\u001b\[[0-9;]*m/g, '');
  const failures = [...output.matchAll(/^\s*(?:FAIL|×)\s+(.+)$/gm)].map((m) => (m[1] ?? '').trim());
  const passed = vitest.status === 0;
  outcomes.push({ run, passed, seconds, failures });
  // A failed run's whole output is kept: the failure rate alone does not say what broke.
  let saved = '';
  if (!passed) {
    mkdirSync('results', { recursive: true });
    saved = join('results', `stress-${basename(file)}-run${run}-${Date.now()}.log`);
    writeFileSync(saved, output);
  }
  console.log(
    `run ${run}/${times}: ${passed ? 'passed' : `FAILED (output: ${saved})`} in ${seconds.toFixed(0)} s${failures.length > 0 ? `\n  ${[...new Set(failures)].slice(0, 5).join('\n  ')}` : ''}`,
  );
}
stopHog();
const failed = outcomes.filter((o) => !o.passed).length;
const total = outcomes.reduce((s, o) => s + o.seconds, 0);
console.log(
  `${file}: ${times - failed} of ${times} runs passed${cpuHog ? ' next to a busy CPU' : ''}, failure rate ${((failed / times) * 100).toFixed(0)} %, ${(total / times).toFixed(0)} s per run`,
);
process.exit(failed === 0 ? 0 : 1);
