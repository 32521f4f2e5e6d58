import { describe, expect } from 'vitest';
import { createEtcdTest } from '../../src/vitest/index.ts';

// The vitest fixture with one cluster for the file resets it after every test that used it: the
// second test must see an empty store although the first left keys, a lease and a member down.
// The order of the two tests is the point (vitest runs a file's tests in order).
const test = createEtcdTest({ members: 3 });

describe('createEtcdTest resets the shared cluster between tests', () => {
  let runId = '';

  test('the first test leaves keys, a lease and a member down', async ({ cluster }) => {
    runId = cluster.runId;
    const client = cluster.client({ retries: true });
    await client.put('left/behind').value('1');
    await client.lease(60, { autoKeepAlive: false }).put('left/leased').value('1');
    const { leader } = await cluster.waitForStableLeader();
    await cluster.kill(cluster.members.find((m) => m !== leader)!);
  });

  test('the next test gets the same cluster, whole, with nothing in it', async ({ cluster }) => {
    expect(cluster.runId).toBe(runId);
    expect(cluster.members.map((m) => m.state)).toEqual(['running', 'running', 'running']);
    for (const member of cluster.members) {
      const own = cluster.memberClient(member, { retries: true });
      expect(Number((await own.getAll().serializable(true).exec()).count), member.name).toBe(0);
      expect((await own.leaseClient.leaseLeases()).leases, member.name).toEqual([]);
    }
  });
});
