import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

const ELECTION_TIMEOUT_MS = 1_000; // etcd's default, which these clusters run with

async function expectOneAgreedLeader(cluster: StartedEtcdCluster): Promise<void> {
  const { leader, term } = await cluster.waitForStableLeader({ timeoutMs: 10 * ELECTION_TIMEOUT_MS });
  const statuses = await cluster.status();
  expect(statuses.every((s) => s.ok)).toBe(true);
  const leaders = new Set(statuses.map((s) => (s.ok ? s.leaderId : 'none')));
  const terms = new Set(statuses.map((s) => (s.ok ? s.raftTerm : -1)));
  expect([...leaders]).toEqual([leader.memberId]);
  expect([...terms]).toEqual([term]);
  // Exactly one member is the leader, and it is a member of this cluster.
  expect(cluster.members.filter((m) => m.memberId === leader.memberId)).toHaveLength(1);
}

async function expectWriteVisibleEverywhere(cluster: StartedEtcdCluster, key: string): Promise<void> {
  const writer = cluster.members[0];
  if (!writer) throw new Error('no members');
  const value = `written-through-${writer.name}-${Date.now()}`;
  await cluster.memberClient(writer).put(key).value(value);
  await cluster.waitForConvergence();
  for (const member of cluster.members) {
    const read = await cluster.memberClient(member).get(key).serializable(true).string();
    expect(read, `serializable read from ${member.name}`).toBe(value);
  }
}

describe.each([3, 5])('a %i-member cluster', (size) => {
  let cluster: StartedEtcdCluster;
  beforeAll(async () => {
    cluster = await new EtcdCluster().withMembers(size).start();
  });
  afterAll(async () => {
    const runId = cluster.runId;
    await cluster.dispose();
    expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
  });

  it('has exactly one leader that every member agrees on, in one term', async () => {
    expect(cluster.members).toHaveLength(size);
    expect(new Set(cluster.members.map((m) => m.memberId)).size).toBe(size);
    await expectOneAgreedLeader(cluster);
  });

  it('serves a value written through one member from every member (serializable reads)', async () => {
    await expectWriteVisibleEverywhere(cluster, `basic-${size}`);
  });
});

describe('member lifecycle on a 3-member cluster', () => {
  let cluster: StartedEtcdCluster;
  beforeAll(async () => {
    cluster = await new EtcdCluster().withMembers(3).start();
  });
  afterAll(async () => {
    await cluster.dispose();
  });

  it('keeps accepting writes with a follower killed, and the restarted follower catches up', async () => {
    const { leader } = await cluster.waitForStableLeader();
    const follower = cluster.members.find((m) => m !== leader);
    if (!follower) throw new Error('no follower');
    await cluster.kill(follower);
    expect(follower.state).toBe('stopped');

    const client = cluster.memberClient(leader);
    for (let i = 0; i < 50; i++) await client.put(`while-down/${i}`).value(String(i));

    await cluster.start(follower);
    const applied = await cluster.waitForConvergence({ timeoutMs: 10 * ELECTION_TIMEOUT_MS });
    const statuses = await cluster.status();
    expect(statuses.map((s) => (s.ok ? s.raftAppliedIndex : -1))).toEqual([applied, applied, applied]);
    const caughtUp = await cluster.memberClient(follower).get('while-down/49').serializable(true).string();
    expect(caughtUp).toBe('49');
  });

  it('elects a new leader with a higher term when the leader is killed', async () => {
    const before = await cluster.waitForStableLeader();
    await cluster.kill(before.leader);
    const after = await cluster.waitForStableLeader({ timeoutMs: 10 * ELECTION_TIMEOUT_MS });
    expect(after.leader).not.toBe(before.leader);
    expect(after.term).toBeGreaterThan(before.term);
    await cluster.start(before.leader);
    await cluster.waitForStableLeader();
  });

  it('hands leadership over when the leader is stopped gracefully', async () => {
    const before = await cluster.waitForStableLeader();
    const result = await cluster.stop(before.leader);
    expect(result.exitedCleanly).toBe(true);

    const after = await cluster.waitForStableLeader({ timeoutMs: 10 * ELECTION_TIMEOUT_MS });
    expect(after.leader).not.toBe(before.leader);
    // A transfer is one term: the old leader sends MsgTimeoutNow, the target campaigns at once.
    expect(after.term).toBe(before.term + 1);

    // The stopped member's own log: it transferred leadership and was a follower when it exited.
    const log = await cluster.logEntries(before.leader);
    const transfer = log.findLastIndex((e) => e.msg === 'leadership transfer starting');
    const roleChanges = log.filter((e) => /became (leader|follower|candidate|pre-candidate)/.test(e.msg));
    expect(transfer).toBeGreaterThanOrEqual(0);
    expect(roleChanges.at(-1)?.msg).toMatch(/became follower at term/);
    expect(log.findLastIndex((e) => e.msg === 'closed etcd server')).toBeGreaterThan(transfer);

    await cluster.start(before.leader);
    await cluster.waitForStableLeader();
  });

  it('removes a member and adds a fresh one that catches up, keeping quorum throughout', async () => {
    const { leader } = await cluster.waitForStableLeader();
    const victim = cluster.members.find((m) => m !== leader);
    if (!victim) throw new Error('no follower');
    await cluster.removeMember(victim);
    expect(cluster.members.map((m) => m.name)).not.toContain(victim.name);
    const client = cluster.client();
    await client.put('after-remove').value('1');
    const listed = await client.cluster.memberList({});
    expect(listed.members.map((m) => m.ID).sort()).toEqual(cluster.members.map((m) => m.memberId).sort());

    const added = await cluster.addMember();
    expect(added.name).toBe('m4');
    await cluster.waitForStableLeader();
    await cluster.waitForConvergence();
    expect(await cluster.memberClient(added).get('after-remove').serializable(true).string()).toBe('1');
    expect((await client.cluster.memberList({})).members).toHaveLength(3);
    await expectWriteVisibleEverywhere(cluster, 'after-add');
  });
});
