import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import type { EtcdMember } from '../../src/cluster/etcd-member.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { BadInputError } from '../../src/errors.ts';
import { probeHostCapabilities } from '../../src/faults/capabilities.ts';
import type { FaultContext } from '../../src/faults/fault.ts';
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

async function cfsQuota(member: EtcdMember): Promise<string> {
  const cpuLine = (await readFile(`/proc/${member.pid}/cgroup`, 'utf8'))
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes('cpu'));
  const path = cpuLine?.split(':')[2] ?? '';
  return (await readFile(`/sys/fs/cgroup/cpu${path}/cpu.cfs_quota_us`, 'utf8')).trim();
}

describe('CPU throttle', () => {
  it('5 % of one CPU on the leader: write p99 rises at least 3×, and removal restores it', async () => {
    const { leader } = await cluster.waitForStableLeader();
    const WRITES = 150;
    await writeLatencies(leader, 20);
    const baseline = summarizeLatencies(await writeLatencies(leader, WRITES));

    const handle = await new CpuThrottleFault({ target: 'leader', cpus: 0.05 }).inject(ctx);
    try {
      expect(handle.targets).toEqual([leader.name]);
      expect(await cfsQuota(leader)).toBe('5000');
      const throttled = summarizeLatencies(await writeLatencies(leader, WRITES));
      await handle.heal();
      expect(await cfsQuota(leader)).toBe('-1');
      await writeLatencies(leader, 20); // let the backlog built up while throttled drain
      const restored = summarizeLatencies(await writeLatencies(leader, WRITES));
      console.log(
        `[figure] cpu 5 %: ${JSON.stringify({
          mechanism: handle.mechanism,
          baseline: { p50: baseline.p50, p99: baseline.p99 },
          throttled: { p50: throttled.p50, p99: throttled.p99 },
          restored: { p50: restored.p50, p99: restored.p99 },
          injectionLatencyMs: Math.round(handle.injectionLatencyMs),
          healLatencyMs: Math.round(handle.healLatencyMs ?? NaN),
        })}`,
      );
      expect(throttled.p99 ?? 0).toBeGreaterThanOrEqual(3 * (baseline.p99 ?? Infinity));
      // Restored: typical writes back near the baseline, the tail far below the throttled one
      // (a single p99 on a shared 2-core machine is too noisy to compare with the baseline's).
      expect(restored.p50 ?? Infinity).toBeLessThan(2 * (baseline.p50 ?? 0) + 5);
      expect(restored.p99 ?? Infinity).toBeLessThan((throttled.p99 ?? 0) / 2);
    } finally {
      await handle.heal();
    }
    expect(await findFaultResidue(cluster)).toEqual([]);
  });

  it.each([0, 0.001, -1, 64])('refuses %s CPUs', (cpus) => {
    expect(() => new CpuThrottleFault({ target: 'leader', cpus })).toThrow(BadInputError);
  });
});
