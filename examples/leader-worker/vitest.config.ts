import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Docker, the etcd image and the sweep of killed runs, once, before any test is timed.
    globalSetup: ['etcd-lab/vitest/global-setup'],
    // One file at a time: two clusters side by side on a small machine would skew the timing.
    fileParallelism: false,
    // A test starts its cluster on first use (a few seconds) and waits out lease expiries.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
