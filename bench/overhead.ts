// The lab's own overhead, measured on real clusters next to references:
//  a. the lab's load driver vs etcd's Go client load (`etcdctl check perf`) at check perf's
//     rate and client count, on one 3-member cluster; plus the lab's closed-loop maximum;
//  b. one client's sequential put latency vs this machine's floor (round trip to a member,
//     member-to-member round trip, fdatasync where the data lives), for memory and disk;
//  c. the leader tracker's cost (none / 10 ms / 20 ms polls, alternating), and a replay of the
//     flagship experiment's pre-fault window (tracker at 20 ms right after start, then what
//     the experiment runner does before it injects: leader look-ups and the host probe);
//  d. election trials per minute reusing one cluster vs a fresh cluster per trial.
// Prints a summary table and writes it with every figure to results/bench/overhead-<time>.json.
// The parts live in bench/overhead/; this file checks the arguments, runs the parts in order
// and writes what they collected. Usage: npm run bench -- overhead --help
import { cpus } from 'node:os';
import { EtcdCluster } from '../src/cluster/etcd-cluster.ts';
import { prepareHost } from '../src/host/prepare-host.ts';
import { printSummary, reportLoad, writeBenchJson } from './lib/bench-output.ts';
import { OVERHEAD_USAGE, parseOverheadArgs, type Part } from './overhead/args.ts';
import { partA } from './overhead/part-a-check-perf.ts';
import { partB } from './overhead/part-b-floor.ts';
import { flagshipReplay, trackerCost } from './overhead/part-c-tracker.ts';
import { partD } from './overhead/part-d-trials.ts';
import { newOverheadRun, runPart } from './overhead/run-state.ts';

// Arguments are checked before anything starts.
const args = parseOverheadArgs(process.argv.slice(2));
if (args.help) {
  console.log(OVERHEAD_USAGE);
  process.exit(0);
}
const run = newOverheadRun(args);
const wants = (part: Part): boolean => args.parts.has(part);

await prepareHost(); // image build / pull is a one-time cost, not part of any figure
run.loads.start = reportLoad('start');
const startedAt = new Date().toISOString();
// Extensive metrics add etcd's own gRPC handling-time histograms: the server-side yardstick.
const metricsFlags = { extraFlags: ['--metrics=extensive'] };
let environment: Record<string, unknown> = {};

if (wants('a') || wants('b') || wants('c')) {
  await using cluster = await new EtcdCluster()
    .withMembers(3)
    .withDataDir('memory')
    .withEtcdOptions(metricsFlags)
    .start();
  environment = cluster.describe();
  // The replay first: the flagship measured its baseline right after the cluster started.
  if (wants('c'))
    await runPart(run, 'c', async () => {
      await flagshipReplay(run, cluster);
      await trackerCost(run, cluster);
    });
  if (wants('a')) await runPart(run, 'a', () => partA(run, cluster));
  if (wants('b')) await runPart(run, 'b-memory', () => partB(run, cluster, 'memory'));
}
if (wants('b')) {
  await runPart(run, 'b-disk', async () => {
    await using cluster = await new EtcdCluster()
      .withMembers(3)
      .withDataDir('disk')
      .withEtcdOptions(metricsFlags)
      .start();
    await partB(run, cluster, 'disk');
  });
}
if (wants('d')) await runPart(run, 'd', () => partD(run));

run.loads.end = reportLoad('end');
console.log('\nsummary (ratio = lab ÷ reference):');
printSummary(run.rows);
const path = writeBenchJson('overhead', {
  bench: 'overhead',
  startedAt,
  durationMs: run.clock.now(),
  args: args.raw,
  cpus: cpus().length,
  loadAverage: run.loads,
  environment,
  summary: run.rows,
  figures: run.figures,
  failures: run.failures,
});
console.log(`\nfigures written to ${path}`);
