import { test as base, type TestAPI } from 'vitest';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import {
  bindFaults,
  startEtcdFixture,
  type EtcdFixture,
  type EtcdFixtureOptions,
  type FixtureFaults,
} from '../fixture/etcd-fixture.ts';
import { assertNoFaultResidue } from '../faults/residue.ts';
import { resetCluster } from '../fixture/reset-cluster.ts';

/**
 * etcd-lab's vitest integration: `test.extend` fixtures that start a real etcd cluster for a file
 * (or for each test), hand it to the tests with fault helpers, and after every test heal what
 * the test injected and check the members for fault residue. Add `etcd-lab/vitest/global-setup`
 * to `globalSetup` so the host (Docker, the etcd image, the sweep of killed runs) is prepared once,
 * before any test is timed.
 *
 *     const test = createEtcdTest({ members: 3, etcdOptions: { heartbeatMs: 50, electionTimeoutMs: 500 } });
 *     test('survives a leader kill', async ({ cluster, faults }) => {
 *       await faults.kill('leader');
 *       await cluster.waitForStableLeader();
 *     });
 */
export interface EtcdTestOptions extends EtcdFixtureOptions {
  /** `file` (default): one cluster shared by the file's tests; `test`: a fresh cluster per test. */
  readonly scope?: 'file' | 'test';
  /**
   * With scope `file`: after each test that used the cluster, delete every key, revoke every
   * lease and bring back members left down — checked on every member (see EtcdFixture.reset) —
   * so the next test starts from an empty store, as on a fresh cluster. Default true.
   */
  readonly resetBetweenTests?: boolean;
}

export interface EtcdTestContext {
  /** The fixture itself (cluster, clock). Started on first use in its scope. */
  readonly etcd: EtcdFixture;
  readonly cluster: StartedEtcdCluster;
  /** This test's fault helpers: healed when the test ends, then the members checked for residue. */
  readonly faults: FixtureFaults;
}

/**
 * The `test` to write a file's tests with. Call it in the test file (vitest's `test.extend` needs
 * the file being collected), once per configuration: a cluster is started only when a test uses it.
 */
export function createEtcdTest(options: EtcdTestOptions = {}): TestAPI<EtcdTestContext> {
  const { scope = 'file', resetBetweenTests = true, ...fixtureOptions } = options;
  const checkResidue = fixtureOptions.checkResidue ?? true;
  return base.extend<EtcdTestContext>({
    etcd: [
      // vitest reads a fixture's dependencies from its first parameter, which must be a pattern.
      // eslint-disable-next-line no-empty-pattern
      async ({}, use) => {
        const fixture = await startEtcdFixture(fixtureOptions);
        try {
          await use(fixture);
        } finally {
          await fixture.dispose();
        }
      },
      { scope },
    ],
    cluster: async ({ etcd }, use) => {
      await use(etcd.cluster);
      // The test's faults are healed by now: `faults` depends on `cluster`, so it is torn down first.
      if (scope === 'file' && resetBetweenTests) await resetCluster(etcd.cluster);
    },
    faults: async ({ etcd, cluster }, use) => {
      void cluster; // a dependency for its order only (see above)
      const faults = bindFaults({ cluster: etcd.cluster, clock: etcd.clock, seed: fixtureOptions.seed ?? 1 });
      try {
        await use(faults);
      } finally {
        await faults.healAll();
      }
      // Checked per test, so residue is blamed on the test that left it, not on the file.
      if (checkResidue) await assertNoFaultResidue(etcd.cluster);
    },
  });
}

export type { EtcdFixture, EtcdFixtureOptions, FaultTarget, FixtureFaults } from '../fixture/etcd-fixture.ts';
