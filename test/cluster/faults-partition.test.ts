import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import type { EtcdMember } from '../../src/cluster/etcd-member.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { BadInputError } from '../../src/errors.ts';
import { probeHostCapabilities } from '../../src/faults/capabilities.ts';
import type { FaultContext, FaultHandle } from '../../src/faults/fault.ts';
import { DelayFault } from '../../src/faults/network/delay.ts';
import { LossFault } from '../../src/faults/network/loss.ts';
import { bridge, split } from '../../src/faults/network/partition.ts';
import { findFaultResidue } from '../../src/faults/residue.ts';
import { RunClock } from '../../src/util/clock.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

const ELECTION_TIMEOUT_MS = 1_000;

let cluster: StartedEtcdCluster;
let ctx: FaultContext;
const open: FaultHandle[] = [];

beforeAll(async () => {
  cluster = await new EtcdCluster()
    .withMembers(5)
    .withEtcdOptions({ heartbeatMs: 100, electionTimeoutMs: ELECTION_TIMEOUT_MS, preVote: false })
    .start();
  ctx = { cluster, clock: new RunClock(), caps: await probeHostCapabilities(), seed: 11 };
});

afterEach(async () => {
  for (const handle of open.splice(0)) await handle.heal();
  await cluster.waitForStableLeader({ timeoutMs: 20 * ELECTION_TIMEOUT_MS });
  await cluster.waitForConvergence({ timeoutMs: 20 * ELECTION_TIMEOUT_MS });
  expect(await findFaultResidue(cluster)).toEqual([]);
});

afterAll(async () => {
  const runId = cluster.runId;
  await cluster.dispose();
  expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
});

function figure(label: string, data: Record<string, unknown>): void {
  console.log(`[figure] ${label}: ${JSON.stringify(data)}`);
}

const names = (members: readonly EtcdMember[]): string[] => members.map((m) => m.name);

async function writeOutcome(member: EtcdMember, key: string): Promise<string> {
  return cluster
    .memberClient(member, { callTimeoutMs: 3_000 })
    .put(key)
    .value('v')
    .then(
      () => 'ok',
      (error: Error) => error.message,
    );
}

/** Polls until every given member reports no leader (leader ID 0). */
async function waitLeaderless(members: readonly EtcdMember[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const statuses = await Promise.all(members.map((m) => cluster.memberStatus(m)));
    if (statuses.every((s) => s.ok && s.leaderId === '0')) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function highestCampaignTerm(member: EtcdMember): Promise<number> {
  const terms = (await cluster.logEntries(member))
    .map((e) => /became candidate at term (\d+)/.exec(e.msg)?.[1])
    .filter((t): t is string => t !== undefined)
    .map(Number);
  return Math.max(0, ...terms);
}

describe('partitions of a 5-member cluster', () => {
  it('split 2|3 with the leader on the 2-side: only the 3-side has a leader and accepts writes', async () => {
    const before = await cluster.waitForStableLeader();
    const handle = await split(['minority', 'rest']).inject(ctx);
    open.push(handle);
    const [two, three] = (handle.record().details.groups as string[][]).map((g) =>
      g.map((n) => cluster.member(n)),
    );
    if (!two || !three) throw new Error('two groups expected');
    expect(two).toHaveLength(2);
    expect(two).toContain(before.leader);
    expect(three).toHaveLength(3);

    const majority = await cluster.waitForStableLeader({
      members: three,
      timeoutMs: 10 * ELECTION_TIMEOUT_MS,
    });
    expect(three).toContain(majority.leader);
    expect(majority.term).toBeGreaterThan(before.term);
    // CheckQuorum: the old leader steps down once it has not heard from a quorum for an election timeout.
    expect(await waitLeaderless(two, 10 * ELECTION_TIMEOUT_MS)).toBe(true);

    expect(await writeOutcome(majority.leader, 'split/three')).toBe('ok');
    for (const member of two) expect(await writeOutcome(member, `split/two/${member.name}`)).not.toBe('ok');

    await handle.heal();
    const after = await cluster.waitForStableLeader({ timeoutMs: 20 * ELECTION_TIMEOUT_MS });
    expect(names(three)).toContain(after.leader.name);
    await cluster.waitForConvergence({ timeoutMs: 20 * ELECTION_TIMEOUT_MS });
    expect(await cluster.client().get('split/three').string()).toBe('v');
    for (const member of two)
      expect(await cluster.client().get(`split/two/${member.name}`).string()).toBeNull();
    figure('split 2|3', {
      twoSide: names(two),
      threeSide: names(three),
      termBefore: before.term,
      threeSideLeaderTerm: majority.term,
      mechanism: handle.mechanism,
      injectionLatencyMs: Math.round(handle.injectionLatencyMs),
      healLatencyMs: Math.round(handle.healLatencyMs ?? NaN),
    });
  });

  it('bridge: the leader keeps its term through the bridge member; the far side campaigns in vain', async () => {
    /*
     * Raft's prediction (pre-vote off, CheckQuorum on) for sides {L, a} and {c, d} joined only
     * through bridge member b: L still reaches a and b — 3 of 5, a quorum — so it stays leader at the
     * same term and writes through it commit. c and d stop hearing L and campaign at rising terms,
     * but b (hearing L, so inside its leader lease) ignores their votes and two votes cannot win:
     * the far side has no leader. After heal their higher term deposes L once; their logs lack the
     * writes, so the new leader is on L's side or the bridge.
     */
    const before = await cluster.waitForStableLeader();
    const followers = names(cluster.members.filter((m) => m !== before.leader)).sort();
    const [a, b, c, d] = followers;
    if (!a || !b || !c || !d) throw new Error('four followers expected');
    const handle = await bridge([before.leader.name, a], [c, d], b).inject(ctx);
    open.push(handle);
    const far = [c, d].map((n) => cluster.member(n));

    expect(await waitLeaderless(far, 10 * ELECTION_TIMEOUT_MS)).toBe(true);
    for (let i = 0; i < 10; i++) expect(await writeOutcome(before.leader, `bridge/${i}`)).toBe('ok');
    await new Promise((r) => setTimeout(r, 3 * ELECTION_TIMEOUT_MS));
    const near = await cluster.waitForStableLeader({ members: [before.leader.name, a, b] });
    expect(near.leader).toBe(before.leader);
    expect(near.term).toBe(before.term);
    expect(await waitLeaderless(far, ELECTION_TIMEOUT_MS)).toBe(true);
    const farTerm = Math.max(...(await Promise.all(far.map(highestCampaignTerm))));
    expect(farTerm).toBeGreaterThan(before.term);

    await handle.heal();
    const after = await cluster.waitForStableLeader({ timeoutMs: 20 * ELECTION_TIMEOUT_MS });
    expect([c, d]).not.toContain(after.leader.name);
    expect(after.term).toBeGreaterThan(farTerm);
    figure('bridge', {
      sides: [
        [before.leader.name, a],
        [c, d],
      ],
      bridge: b,
      termBefore: before.term,
      leaderTermDuring: near.term,
      farSideCampaignTerm: farTerm,
      termAfterHeal: after.term,
    });
  });
});

describe('bad input on a live cluster: a clear error and nothing injected', () => {
  it.each([
    [
      'overlapping groups',
      () =>
        split([
          ['m1', 'm2'],
          ['m2', 'm3', 'm4', 'm5'],
        ]),
      /overlap: m2/,
    ],
    ['a member left out', () => split([['m1'], ['m2', 'm3']]), /leaves out m4, m5/],
    // 'minority' always contains the leader, so this overlap only shows once roles are resolved.
    ['roles that overlap', () => split(['leader', 'minority', 'rest']), /partition groups overlap/],
    ['an unknown member', () => new DelayFault({ target: 'm9', delayMs: 10 }), /no member "m9"/],
  ] as const)('%s', async (_label, make, message) => {
    const error = await Promise.resolve()
      .then(() => make().inject(ctx))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toMatch(message);
    expect(await findFaultResidue(cluster)).toEqual([]);
  });

  it.each([
    ['a negative delay', () => new DelayFault({ target: 'leader', delayMs: -5 }), /delayMs must be from 0/],
    [
      'loss over 100 %',
      () => new LossFault({ target: 'leader', lossPercent: 150 }),
      /lossPercent must be from 0/,
    ],
  ] as const)('%s is refused when the fault is made', (_label, make, message) => {
    expect(make).toThrow(BadInputError);
    expect(make).toThrow(message);
  });
});
