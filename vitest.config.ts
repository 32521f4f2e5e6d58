import { defineConfig } from 'vitest/config';

// Four projects: fast pure-logic unit tests, host capability tests (network namespaces,
// tc, iptables, cgroups), cluster tests against real etcd in real containers, and long cluster
// tests that mostly wait (etcd's fixed 5-minute lease checkpoint). Test files run one at a
// time: this is a 2-core machine, and election timing measured under CPU contention from a
// neighbouring cluster would be noise. `npm test` (scripts/test.ts) runs the long tier in a
// second vitest process beside the others, since it is idle nearly all the time.
export default defineConfig({
  test: {
    // The JSON report is what CI reads for its "N passed, N failed" line.
    // scripts/test.ts points the two processes it runs at two files (ETCD_LAB_VITEST_JSON) and merges them.
    reporters: [
      'default',
      ['json', { outputFile: process.env.ETCD_LAB_VITEST_JSON ?? 'results/vitest.json' }],
    ],
    fileParallelism: false,
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // What this host can do for fault injection (network namespaces, tc, iptables, cgroups).
      { test: { name: 'host', include: ['test/host/**/*.test.ts'], fileParallelism: false } },
      {
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
          globalSetup: ['test/cluster/global-setup.ts'],
        },
      },
      {
        test: {
          name: 'cluster-long',
          include: ['test/cluster-long/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 600_000,
          globalSetup: ['test/cluster/global-setup.ts'],
        },
      },
    ],
  },
});
