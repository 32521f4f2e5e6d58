import { sweepLeftovers } from '../host/cleanup.ts';
import { prepareHost } from '../host/prepare-host.ts';

/**
 * For vitest's `globalSetup: ['etcd-lab/vitest/global-setup']`: prepares the host once, before
 * any test file runs (a Docker engine, the etcd image named by ETCD_IMAGE or the default, and
 * the removal of what killed runs left behind), so no test's timeout pays for it. Afterwards
 * it removes whatever the finished test workers left and fails the run if there was any.
 */
export async function setup(): Promise<void> {
  await prepareHost();
}

export async function teardown(): Promise<void> {
  // Only resources whose owning process is gone: the test workers have exited by now.
  const removed = await sweepLeftovers();
  const total = removed.containers + removed.networks + removed.volumes + removed.dataDirs + removed.other;
  if (total > 0) {
    throw new Error(`etcd-lab: the tests left resources behind (removed now): ${JSON.stringify(removed)}`);
  }
}
