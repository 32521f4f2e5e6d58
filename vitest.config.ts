import { defineConfig } from 'vitest/config';

// Three projects: fast pure-logic unit tests, host capability tests (network namespaces,
// tc, iptables, cgroups) and cluster tests against real etcd in real containers. Test files
// run one at a time: this is a 2-core machine, and election timing measured under CPU
// contention from a neighbouring cluster would be noise.
export default defineConfig({
  test: {
    // The JSON report is what CI reads for its "N passed, N failed" line.
    reporters: ['default', ['json', { outputFile: 'results/vitest.json' }]],
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
    ],
  },
});
