// Time from EtcdCluster.start() to a started handle (every member serving, member IDs known)
// and to a stable leader, for 3- and 5-member clusters: median and p95 over N starts, next to
// the goals of issue #17 (3 members ≤ 1.5 s, 5 members ≤ 3 s, median, on this machine).
// Usage: npm run bench -- cluster-startup [starts per size, default 10]
import { EtcdCluster } from '../src/cluster/etcd-cluster.ts';
import { prepareHost } from '../src/host/prepare-host.ts';
import { latencyPercentiles } from '../src/measure/latency-stats.ts';
import { reportGoal, seconds } from './lib/goals.ts';

const runs = Number(process.argv[2] ?? 10);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`cluster-startup: starts per size must be a positive integer, got "${process.argv[2]}"`);
  process.exit(2);
}
await prepareHost(); // image build / pull is a one-time cost, not part of a cluster start

const GOAL_MEDIAN_MS: Readonly<Record<number, number>> = { 3: 1_500, 5: 3_000 };

for (const members of [3, 5]) {
  const ready: number[] = [];
  const leader: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await using cluster = await new EtcdCluster().withMembers(members).start();
    ready.push(performance.now() - started);
    await cluster.waitForStableLeader({ pollMs: 10 });
    leader.push(performance.now() - started);
  }
  const [readyMedian, readyP95] = latencyPercentiles(ready, [50, 95]);
  const [leaderMedian] = latencyPercentiles(leader, [50]);
  console.log(
    `${members} members, ${runs} starts: start() → ready median ${seconds(readyMedian)}, p95 ${seconds(readyP95)} ` +
      `(min ${seconds(Math.min(...ready))}, max ${seconds(Math.max(...ready))}); → stable leader median ${seconds(leaderMedian)}`,
  );
  const goal = GOAL_MEDIAN_MS[members] as number;
  reportGoal({
    what: `cluster start, ${members} members, median`,
    goal: `≤ ${seconds(goal)}`,
    measured: `${seconds(readyMedian)} (p95 ${seconds(readyP95)}, ${runs} starts)`,
    met: readyMedian === null || readyMedian === undefined ? undefined : readyMedian <= goal,
  });
}
