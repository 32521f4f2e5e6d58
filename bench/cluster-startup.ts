// Time from EtcdCluster.start() to a started handle (every member serving, member IDs known)
// and to a stable leader, for 3- and 5-member clusters: median and p95 over N starts, next to
// the goals of issue #17 (3 members ≤ 1.5 s, 5 members ≤ 3 s, median, on this machine).
// Side by side, in the same run: Docker's own start of a container like a member's (the etcd
// image, on a user network, client port published), which bounds a cluster start from below —
// members start one after another (src/cluster/member-boot.ts) and dockerd starts containers one
// at a time here — and which differs from day to day on this host (0.4 s to 0.8 s).
// Usage: npm run bench -- cluster-startup [starts per size, default 10]
import { cpus } from 'node:os';
import { EtcdCluster } from '../src/cluster/etcd-cluster.ts';
import { registerCleanup, sweepLeftovers } from '../src/host/cleanup.ts';
import { docker } from '../src/host/docker.ts';
import { prepareHost } from '../src/host/prepare-host.ts';
import { LABEL, newRunId, runLabels } from '../src/host/run-labels.ts';
import { latencyPercentiles } from '../src/measure/latency-stats.ts';
import { reportLoad, writeBenchJson } from './lib/bench-output.ts';
import { reportGoal, seconds } from './lib/goals.ts';

const runs = Number(process.argv[2] ?? 10);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`cluster-startup: starts per size must be a positive integer, got "${process.argv[2]}"`);
  process.exit(2);
}
const { image } = await prepareHost(); // image build / pull is a one-time cost, not part of a cluster start
const startedAt = new Date().toISOString();
const loadAtStart = reportLoad('start');

const GOAL_MEDIAN_MS: Readonly<Record<number, number>> = { 3: 1_500, 5: 3_000 };

/**
 * `docker start` of a container made like a member (etcd's image printing its version, on a
 * user network, port published) and nothing else: Docker's share of one member's start.
 */
async function dockerStartFloorMs(count: number): Promise<number[]> {
  const runId = newRunId();
  const labels = runLabels(runId);
  const network = `etcd-lab-${runId}`;
  // Ctrl-C meanwhile: the run's sweep removes the network and a container left on it.
  const unregister = registerCleanup(`docker start floor ${runId}`, () =>
    sweepLeftovers({ runId }).then(() => undefined),
  );
  await docker().createNetwork({ Name: network, Driver: 'bridge', Labels: labels });
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const container = await docker().createContainer({
        name: `${network}-floor${i}`,
        Image: image.image,
        Entrypoint: [image.etcdBinary],
        Cmd: ['--version'],
        Labels: { ...labels, [LABEL.member]: `floor${i}` },
        ExposedPorts: { '2379/tcp': {} },
        HostConfig: { NetworkMode: network, PortBindings: { '2379/tcp': [{ HostPort: '' }] } },
      });
      try {
        const started = performance.now();
        await container.start();
        times.push(performance.now() - started);
      } finally {
        await container.remove({ force: true });
      }
    }
  } finally {
    await sweepLeftovers({ runId });
    unregister();
  }
  return times;
}

const sizes: Record<string, unknown>[] = [];
for (const members of [3, 5]) {
  const ready: number[] = [];
  const leader: number[] = [];
  const floor: number[] = [];
  // Alternating: a cluster start, then as many bare container starts as it has members.
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const cluster = await new EtcdCluster().withMembers(members).start();
    try {
      ready.push(performance.now() - started);
      await cluster.waitForStableLeader({ pollMs: 10 });
      leader.push(performance.now() - started);
    } finally {
      await cluster.dispose();
    }
    floor.push(...(await dockerStartFloorMs(members)));
  }
  const [readyMedian, readyP95] = latencyPercentiles(ready, [50, 95]);
  const [leaderMedian] = latencyPercentiles(leader, [50]);
  const [floorMedian] = latencyPercentiles(floor, [50]);
  const dockerShare =
    readyMedian === null || readyMedian === undefined || floorMedian === null || floorMedian === undefined
      ? undefined
      : (members * floorMedian) / readyMedian;
  console.log(
    `${members} members, ${runs} starts: start() → ready median ${seconds(readyMedian)}, p95 ${seconds(readyP95)} ` +
      `(min ${seconds(Math.min(...ready))}, max ${seconds(Math.max(...ready))}); → stable leader median ${seconds(leaderMedian)}\n` +
      `  docker start of a bare container like a member: median ${seconds(floorMedian)} (${floor.length} starts); ` +
      `${members} of them one after another ${seconds(floorMedian === undefined || floorMedian === null ? undefined : members * floorMedian)}` +
      (dockerShare === undefined ? '' : `, ${(dockerShare * 100).toFixed(0)} % of the cluster start`),
  );
  const goal = GOAL_MEDIAN_MS[members] as number;
  reportGoal({
    what: `cluster start, ${members} members, median`,
    goal: `≤ ${seconds(goal)}`,
    measured:
      `${seconds(readyMedian)} (p95 ${seconds(readyP95)}, ${runs} starts; ` +
      `docker start of one bare container here ${seconds(floorMedian)})`,
    met: readyMedian === null || readyMedian === undefined ? undefined : readyMedian <= goal,
  });
  sizes.push({ members, readyMs: ready, stableLeaderMs: leader, dockerStartMs: floor });
}

const path = writeBenchJson('cluster-startup', {
  bench: 'cluster-startup',
  startedAt,
  args: { runs },
  cpus: cpus().length,
  etcd: { version: image.etcdVersion, image: image.image },
  loadAverage: { start: loadAtStart, end: reportLoad('end') },
  sizes,
});
console.log(`\nfigures written to ${path}`);
