import { describe, expect, it } from 'vitest';
import { FaultError } from '../../src/errors.ts';
import { startEtcdFixture } from '../../src/fixture/etcd-fixture.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

// The framework-free fixture as a node:test user (or a script) holds it: `await using`.
describe('startEtcdFixture', () => {
  it('leaving the block heals what its fault helpers injected, then removes the cluster', async () => {
    let runId = '';
    let handles: { healed: boolean }[] = [];
    {
      await using etcd = await startEtcdFixture({ members: 3 });
      runId = etcd.cluster.runId;
      const { leader } = await etcd.cluster.waitForStableLeader();
      await etcd.faults.kill(leader);
      const follower = etcd.cluster.members.find((m) => m !== leader)!;
      await etcd.faults.pause(follower);
      expect(follower.state).toBe('paused');
      handles = [...etcd.faults.injected];
    }
    expect(handles.map((handle) => handle.healed)).toEqual([true, true]);
    expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
  });

  it('a member left frozen outside the fault helpers is residue: disposal says so, and still removes the cluster', async () => {
    const etcd = await startEtcdFixture({ members: 1 });
    const [member] = etcd.cluster.members;
    await etcd.cluster.pause(member!);
    const disposal = etcd.dispose();
    await expect(disposal).rejects.toThrow(FaultError);
    await expect(disposal).rejects.toThrow(/m1 paused/);
    expect(await findLeftovers({ runId: etcd.cluster.runId })).toEqual(NOTHING_LEFT);
  });
});

describe('EtcdFixture.reset', () => {
  it('revokes every lease, deletes every key and brings back a member left down, checked on every member', async () => {
    await using etcd = await startEtcdFixture({ members: 3, checkResidue: false });
    const { cluster } = etcd;
    const client = cluster.client({ retries: true });
    for (let i = 0; i < 20; i++) await client.put(`plain/${i}`).value('v');
    const leased = client.lease(60, { autoKeepAlive: false });
    await leased.put('leased/key').value('v');
    await client.lease(60, { autoKeepAlive: false }).grant();
    const { leader } = await cluster.waitForStableLeader();
    const follower = cluster.members.find((m) => m !== leader)!;
    await cluster.kill(follower); // outside the fault helpers: only the reset brings it back

    const report = await etcd.reset();

    // Revoking the lease took its key with it: 20 keys are left for the delete.
    expect(report).toEqual({ membersBroughtBack: [follower.name], keysDeleted: 20, leasesRevoked: 2 });
    expect(follower.state).toBe('running');
    for (const member of cluster.members) {
      const own = cluster.memberClient(member, { retries: true });
      expect(Number((await own.getAll().serializable(true).exec()).count), member.name).toBe(0);
      expect((await own.leaseClient.leaseLeases()).leases, member.name).toEqual([]);
    }
    // Usable as before, and a second reset finds nothing to do.
    await client.put('after').value('1');
    expect(await etcd.reset()).toEqual({ membersBroughtBack: [], keysDeleted: 1, leasesRevoked: 0 });
  });

  it('heals what the fault helpers injected first, and a frozen member is residue it reports', async () => {
    await using etcd = await startEtcdFixture({ members: 3 });
    const { leader } = await etcd.cluster.waitForStableLeader();
    const handle = await etcd.faults.kill(leader);
    expect((await etcd.reset()).membersBroughtBack).toEqual([]);
    expect(handle.healed).toBe(true);
    const [member] = etcd.cluster.members;
    await etcd.cluster.pause(member!);
    await expect(etcd.reset()).rejects.toThrow(/m1 paused/);
    await etcd.cluster.unpause(member!);
  });
});
