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
