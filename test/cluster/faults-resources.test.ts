import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import type { EtcdMember } from '../../src/cluster/etcd-member.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { BadInputError } from '../../src/errors.ts';
import { probeHostCapabilities } from '../../src/faults/capabilities.ts';
import type { FaultContext } from '../../src/faults/fault.ts';
import {
  cpuCgroupVersion,
  cpuQuotaUs,
  cpuThrottledPeriods,
} from '../../src/faults/resources/cgroup-files.ts';
import { CpuThrottleFault } from '../../src/faults/resources/cpu-throttle.ts';
import { findFaultResidue } from '../../src/faults/residue.ts';
import { summarizeLatencies } from '../../src/measure/latency-stats.ts';
import { RunClock } from '../../src/util/clock.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

let cluster: StartedEtcdCluster;
let ctx: FaultContext;

beforeAll(async () => {
  // etcd's default timing: a throttled leader should stay leader, so its own slowness is what is measured.
  cluster = await new EtcdCluster().withMembers(3).start();
  ctx = { cluster, clock: new RunClock(), caps: await probeHostCapabilities() };
});

afterAll(async () => {
  const runId = cluster.runId;
  await cluster.dispose();
  expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
});

async function writeLatencies(via: EtcdMember, count: number): Promise<number[]> {
  const client = cluster.memberClient(via, { callTimeoutMs: 10_000 });
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await client.put(`cpu/${i % 10}`).value('x'.repeat(256));
    out.push(performance.now() - start);
  }
  return out;
}

/** The member's CPU quota in µs per period (null: unlimited), from whichever cgroup version this host has. */
const quota = (member: EtcdMember): Promise<number | null | undefined> => cpuQuotaUs(member.pid);

/** CFS periods in which the member's cgroup ran out of quota and was stopped (the throttle's mechanism). */
async function throttledPeriods(member: EtcdMember): Promise<number> {
  const periods = await cpuThrottledPeriods(member.pid);
  if (periods === undefined) throw new Error(`no cpu.stat for ${member.name} (pid ${member.pid})`);
  return periods;
}

describe('CPU throttle', () => {
  it('5 % of one CPU on the leader: its cgroup is throttled and write p99 rises at least 3×; removal ends the throttling', async () => {
    const { leader } = await cluster.waitForStableLeader();
    const WRITES = 150;
    await writeLatencies(leader, 20);
    const baseline = summarizeLatencies(await writeLatencies(leader, WRITES));

    const handle = await new CpuThrottleFault({ target: 'leader', cpus: 0.05 }).inject(ctx);
    try {
      expect(handle.targets).toEqual([leader.name]);
      expect(await quota(leader)).toBe(5_000);
      expect(handle.mechanism).toBe(
        (await cpuCgroupVersion(leader.pid)) === 2 ? 'cgroup-v2-cpu-max' : 'cgroup-v1-cfs-quota',
      );
      const beforeThrottled = await throttledPeriods(leader);
      const throttled = summarizeLatencies(await writeLatencies(leader, WRITES));
      const afterThrottled = await throttledPeriods(leader);
      await handle.heal();
      expect(await quota(leader)).toBeNull();
      await writeLatencies(leader, 20); // let the backlog built up while throttled drain
      const beforeRestored = await throttledPeriods(leader);
      const restored = summarizeLatencies(await writeLatencies(leader, WRITES));
      const afterRestored = await throttledPeriods(leader);
      console.log(
        `[figure] cpu 5 %: ${JSON.stringify({
          mechanism: handle.mechanism,
          baseline: { p50: baseline.p50, p99: baseline.p99 },
          throttled: { p50: throttled.p50, p99: throttled.p99 },
          restored: { p50: restored.p50, p99: restored.p99 },
          throttledPeriods: {
            throttled: afterThrottled - beforeThrottled,
            restored: afterRestored - beforeRestored,
          },
          injectionLatencyMs: Math.round(handle.injectionLatencyMs),
          healLatencyMs: Math.round(handle.healLatencyMs ?? NaN),
        })}`,
      );
      // The mechanism: while throttled the leader's cgroup runs out of its 5 ms per 100 ms period
      // and is stopped; once healed it never is. Latency follows: the writes that hit an empty
      // quota wait for the next period, so the tail rises; after the heal typical writes are
      // back near the baseline. (Restored and baseline tails are not compared: a p99 of 150
      // writes is the second-slowest, and on a shared 2-core host any scheduling hiccup sets it.)
      expect(afterThrottled - beforeThrottled).toBeGreaterThan(0);
      expect(afterRestored - beforeRestored).toBe(0);
      expect(throttled.p99 ?? 0).toBeGreaterThanOrEqual(3 * (baseline.p99 ?? Infinity));
      expect(restored.p50 ?? Infinity).toBeLessThan(2 * (baseline.p50 ?? 0) + 5);
    } finally {
      await handle.heal();
    }
    expect(await findFaultResidue(cluster)).toEqual([]);
  });

  it.each([0, 0.001, -1, 64])('refuses %s CPUs', (cpus) => {
    expect(() => new CpuThrottleFault({ target: 'leader', cpus })).toThrow(BadInputError);
  });
});
