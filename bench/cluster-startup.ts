// Time from EtcdCluster.start() to a started handle (every member serving, member IDs known)
// and to a stable leader, for 3- and 5-member clusters. Prints medians over N runs.
// Usage: npm run bench -- cluster-startup [runs]
import { EtcdCluster } from '../src/cluster/etcd-cluster.ts';
import { prepareHost } from '../src/host/prepare-host.ts';
import { summarizeLatencies } from '../src/measure/latency-stats.ts';

const runs = Number(process.argv[2] ?? 5);
await prepareHost(); // image build / pull is a one-time cost, not part of a cluster start

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
  const r = summarizeLatencies(ready);
  const l = summarizeLatencies(leader);
  console.log(
    `${members} members, ${runs} runs: start() → ready median ${r.p50?.toFixed(0)} ms (min ${r.min?.toFixed(0)}, max ${r.max?.toFixed(0)}); → stable leader median ${l.p50?.toFixed(0)} ms`,
  );
}
