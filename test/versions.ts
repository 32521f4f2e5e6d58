// `npm run test:versions [-- 3.5.16 3.5.30]`: the version tier. The cluster tests of what differs
// between etcd versions — cluster lifecycle, elections, leases and lease loss, one fault of each
// kind, lease elections — run again on each other version the lab can obtain (the everyday
// `npm test` runs them on the default). The same test files, not copies: ETCD_IMAGE picks the
// version for every cluster they start. Prints one "N passed, N failed" line per version and in
// all; exit code 0 when every version passed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';

/** Besides the default (3.4.23, host-built here): the versions Debian's packages give (issue #12). */
const DEFAULT_VERSIONS = ['3.5.16', '3.5.30'];

export const VERSION_TIER_FILES = [
  'test/cluster/cluster-lifecycle.test.ts',
  'test/cluster/elections.test.ts',
  'test/cluster/leases.test.ts',
  'test/cluster/measure-lease-loss.test.ts',
  'test/cluster-long/lease-checkpoint.test.ts',
  'test/cluster/faults-process.test.ts',
  'test/cluster/faults-network.test.ts',
  'test/cluster/faults-partition.test.ts',
  'test/cluster/faults-resources.test.ts',
  'test/cluster/faults-move-leader.test.ts',
  'test/cluster/lease-election.test.ts',
];

const versions = process.argv.slice(2).length > 0 ? process.argv.slice(2) : DEFAULT_VERSIONS;
const bad = versions.find((v) => !/^v?\d+\.\d+\.\d+$/.test(v));
if (bad !== undefined) {
  console.error(`usage: npm run test:versions [-- <version>…], e.g. 3.5.30; got "${bad}"`);
  process.exit(2);
}
process.on('SIGINT', () => process.exit(130));

interface Tally {
  readonly version: string;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly seconds: number;
}
const tallies: Tally[] = [];
for (const version of versions) {
  // vitest.config.ts's JSON reporter writes results/vitest.json; each version's copy is kept.
  const report = 'results/vitest.json';
  rmSync(report, { force: true });
  console.log(`\n=== etcd ${version}: ${VERSION_TIER_FILES.length} cluster test files ===`);
  const started = performance.now();
  const run = spawnSync(
    'npx',
    ['vitest', 'run', '--project', 'cluster', '--project', 'cluster-long', ...VERSION_TIER_FILES],
    {
      stdio: 'inherit',
      env: { ...process.env, ETCD_IMAGE: version },
    },
  );
  const seconds = (performance.now() - started) / 1000;
  let tally: Tally = { version, passed: 0, failed: 1, skipped: 0, seconds };
  try {
    const r = JSON.parse(readFileSync(report, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      numTodoTests?: number;
    };
    tally = {
      version,
      passed: r.numPassedTests,
      // A run that failed without a failed test (a crashed file, a hook) still counts as a failure.
      failed: r.numFailedTests + (run.status !== 0 && r.numFailedTests === 0 ? 1 : 0),
      skipped: r.numPendingTests + (r.numTodoTests ?? 0),
      seconds,
    };
  } catch {
    // no report: the run failed before writing one; counted as one failure above
  }
  if (existsSync(report)) copyFileSync(report, `results/vitest-${version}.json`);
  tallies.push(tally);
}
console.log('');
for (const t of tallies) {
  console.log(
    `etcd ${t.version}: ${t.passed} passed, ${t.failed} failed${t.skipped > 0 ? `, ${t.skipped} skipped` : ''} in ${t.seconds.toFixed(0)} s`,
  );
}
const passed = tallies.reduce((sum, t) => sum + t.passed, 0);
const failed = tallies.reduce((sum, t) => sum + t.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
