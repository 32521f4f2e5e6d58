// Part a of the overhead benchmark: the lab's load driver vs etcd's Go client load
// (`etcdctl check perf`) at check perf's rate and client count, plus the lab's closed-loop maximum.
import { execa } from 'execa';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { progress } from '../../src/util/log.ts';
import { runWorkload } from '../../src/workload/run-workload.ts';
import { summaryRow } from '../lib/bench-output.ts';
import {
  CHECK_PERF_KEY_BYTES,
  CHECK_PERF_LEVELS,
  CHECK_PERF_VALUE_BYTES,
  parseCheckPerfOutput,
  type CheckPerfReport,
} from '../lib/check-perf.ts';
import { serverStatsBetween, type ServerSideStats } from '../lib/server-metrics.ts';
import type { EtcdctlPlace } from './args.ts';
import { lat, ms, scrape, workloadFigures, type OverheadRun } from './run-state.ts';

interface EtcdctlRun {
  readonly where: EtcdctlPlace;
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly elapsedMs: number;
  readonly report: CheckPerfReport;
  readonly server: ServerSideStats;
  readonly output: string;
}

async function runCheckPerf(
  run: OverheadRun,
  cluster: StartedEtcdCluster,
  where: EtcdctlPlace,
): Promise<EtcdctlRun> {
  const level = CHECK_PERF_LEVELS[run.args.load];
  // In the container etcdctl reaches the members over the cluster network; on the host it
  // takes the lab's own path, the published client ports.
  const endpoints =
    where === 'container'
      ? cluster.members.map((m) => m.internalClientUrl)
      : cluster.members.map((m) => m.clientEndpoint);
  const etcdctlArgs = [`--endpoints=${endpoints.join(',')}`, 'check', 'perf', `--load=${run.args.load}`];
  const [file, fileArgs] =
    where === 'container'
      ? [
          'docker',
          ['exec', cluster.member('m1').containerName, cluster.host.image.etcdctlBinary, ...etcdctlArgs],
        ]
      : ['etcdctl', etcdctlArgs];
  const command = `${file} ${fileArgs.join(' ')}`;
  progress(`a: ${command} (${level.durationSeconds} s, fixed by etcdctl)`);
  const before = await scrape(cluster);
  const began = performance.now();
  const outcome = await execa(file, fileArgs, {
    reject: false,
    all: true,
    timeout: (level.durationSeconds + 60) * 1_000,
  });
  const elapsedMs = performance.now() - began;
  const server = serverStatsBetween(before, await scrape(cluster));
  const output = outcome.all ?? '';
  const report = parseCheckPerfOutput(output);
  if (!report.complete) console.log(`etcdctl check perf (${where}) printed no full report:\n${output}`);
  return {
    where,
    command,
    exitCode: outcome.exitCode,
    elapsedMs,
    report,
    server,
    output: output.slice(-2_000),
  };
}

export async function partA(run: OverheadRun, cluster: StartedEtcdCluster): Promise<void> {
  const level = CHECK_PERF_LEVELS[run.args.load];
  // etcd's benchmark tool (tools/benchmark) would allow any rate and a closed loop; neither image nor host has it.
  const benchmarkInImage = await execa('docker', ['exec', cluster.member('m1').containerName, 'benchmark'], {
    reject: false,
    all: true,
  });
  const benchmarkOnHost = await execa('sh', ['-c', 'command -v benchmark'], { reject: false });
  const etcdctlVersion = (await execa('etcdctl', ['version'], { reject: false })).stdout;

  const etcdctlRuns: EtcdctlRun[] = [];
  for (const where of run.args.etcdctlWhere) etcdctlRuns.push(await runCheckPerf(run, cluster, where));

  // The lab at check perf's rate and clients, with its key and value sizes: keys are the
  // padded prefix plus a random number below 10^9, so about 256 bytes and nearly all new.
  const sizes = {
    mix: { put: 1 },
    keyPrefix: 'overhead-a/'.padEnd(CHECK_PERF_KEY_BYTES - 9, '_'),
    keyCount: 1_000_000_000,
    valueBytes: CHECK_PERF_VALUE_BYTES,
    clock: run.clock,
  } as const;
  progress(`a: lab open loop ${level.ratePerSecond}/s, ${level.clients} clients, ${run.args.labSeconds} s`);
  let before = await scrape(cluster);
  const open = await runWorkload(cluster, {
    ...sizes,
    mode: 'open-loop',
    ratePerSecond: level.ratePerSecond,
    clients: level.clients,
    durationMs: run.args.labSeconds * 1_000,
  });
  const openServer = serverStatsBetween(before, await scrape(cluster));
  progress(`a: lab closed loop, ${level.clients} clients, ${run.args.closedSeconds} s`);
  before = await scrape(cluster);
  const closed = await runWorkload(cluster, {
    ...sizes,
    mode: 'closed-loop',
    clients: level.clients,
    durationMs: run.args.closedSeconds * 1_000,
  });
  const closedServer = serverStatsBetween(before, await scrape(cluster));
  const openFigures = workloadFigures(open);
  const closedFigures = workloadFigures(closed);

  console.log(
    `\na. check perf --load=${run.args.load}: ${level.ratePerSecond} puts/s, ${level.clients} clients, 60 s`,
  );
  for (const etcdctl of etcdctlRuns) {
    const r = etcdctl.report;
    console.log(
      `  etcdctl (${etcdctl.where}): ${r.throughputWritesPerSecond ?? '?'} writes/s, slowest ${ms(r.slowestMs)} ms, ` +
        `stddev ${ms(r.stddevMs)} ms, ${r.verdict ?? 'no verdict'}; server-side Put mean ${ms(etcdctl.server.putMeanMs)} ms`,
    );
  }
  console.log(
    `  lab open loop: ${openFigures.throughput?.toFixed(1)} writes/s, ${lat(openFigures.latency)}; ` +
      `send lag p99 ${ms(openFigures.sendLag?.p99)} ms; server-side Put mean ${ms(openServer.putMeanMs)} ms`,
  );
  console.log(
    `  lab closed loop (${level.clients} clients): ${closedFigures.throughput?.toFixed(1)} writes/s, ${lat(closedFigures.latency)}; ` +
      `server-side Put mean ${ms(closedServer.putMeanMs)} ms`,
  );
  console.log(
    `  etcd benchmark tool: in image ${benchmarkInImage.exitCode === 0 ? 'yes' : 'no'}, on host ${benchmarkOnHost.exitCode === 0 ? 'yes' : 'no'}`,
  );

  for (const etcdctl of etcdctlRuns) {
    const note = `etcdctl in ${etcdctl.where}`;
    run.rows.push(
      summaryRow(
        'a',
        `throughput at ${level.ratePerSecond}/s, writes/s`,
        openFigures.throughput,
        etcdctl.report.throughputWritesPerSecond,
        note,
      ),
      summaryRow('a', 'latency stddev, ms', openFigures.latency.stddev, etcdctl.report.stddevMs, note),
      summaryRow('a', 'slowest request, ms', openFigures.latency.max, etcdctl.report.slowestMs, note),
      summaryRow(
        'a',
        'server-side Put mean during the run, ms',
        openServer.putMeanMs,
        etcdctl.server.putMeanMs,
        note,
      ),
    );
  }
  run.rows.push(
    summaryRow(
      'a',
      'lab Put mean vs server-side mean, ms',
      openFigures.latency.mean,
      openServer.putMeanMs,
      'client+network share',
    ),
    summaryRow(
      'a',
      'lab open loop p50 / p99, ms',
      openFigures.latency.p50,
      openFigures.latency.p99,
      'ref column = p99',
    ),
    summaryRow(
      'a',
      `lab closed loop max writes/s (${level.clients} clients)`,
      closedFigures.throughput,
      level.ratePerSecond,
      'ref = check perf rate',
    ),
    summaryRow(
      'a',
      'lab closed loop p50 / p99, ms',
      closedFigures.latency.p50,
      closedFigures.latency.p99,
      'ref column = p99',
    ),
  );
  run.figures.a = {
    load: run.args.load,
    level,
    keyBytes: CHECK_PERF_KEY_BYTES,
    valueBytes: CHECK_PERF_VALUE_BYTES,
    etcdctlVersion,
    etcdctl: etcdctlRuns,
    benchmarkTool: {
      inImage: benchmarkInImage.exitCode === 0,
      inImageOutput: (benchmarkInImage.all ?? '').slice(0, 300),
      onHost: benchmarkOnHost.exitCode === 0,
    },
    labOpenLoop: { ...openFigures, server: openServer },
    labClosedLoop: { ...closedFigures, server: closedServer },
  };
}
