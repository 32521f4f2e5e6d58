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
// Usage: npm run bench -- overhead [--parts a,b,c,d] [--load s|m|l|xl] [--etcdctl container|host|both]
//   [--lab-seconds 30] [--closed-seconds 15] [--single-seconds 10] [--tracker-seconds 8]
//   [--tracker-rounds 2] [--reuse-trials 5] [--fresh-trials 2] [--fsync-count 200]
import { cpus } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { EtcdCluster, DATA_MOUNT, type DataDirKind } from '../src/cluster/etcd-cluster.ts';
import { CLIENT_PORT, PEER_PORT } from '../src/cluster/etcd-options.ts';
import type { StartedEtcdCluster } from '../src/cluster/started-etcd-cluster.ts';
import { BadInputError } from '../src/errors.ts';
import { probeHostCapabilities } from '../src/faults/capabilities.ts';
import { connectRtts } from '../src/faults/network/netns-rtt.ts';
import type { OperationRecord } from '../src/history/operation-record.ts';
import { prepareHost } from '../src/host/prepare-host.ts';
import {
  summarizeLatencies,
  summarizeOperations,
  type LatencySummary,
} from '../src/measure/latency-stats.ts';
import { LeaderTracker } from '../src/measure/leader-tracker.ts';
import { RunClock, sleep } from '../src/util/clock.ts';
import { progress } from '../src/util/log.ts';
import { runWorkload, type WorkloadResult } from '../src/workload/run-workload.ts';
import {
  printSummary,
  reportLoad,
  summaryRow,
  writeBenchJson,
  type LoadAverage,
  type SummaryRow,
} from './lib/bench-output.ts';
import {
  CHECK_PERF_KEY_BYTES,
  CHECK_PERF_LEVELS,
  CHECK_PERF_VALUE_BYTES,
  isCheckPerfLoad,
  parseCheckPerfOutput,
  type CheckPerfLoad,
  type CheckPerfReport,
} from './lib/check-perf.ts';
import { trialsReusingCluster, trialsWithFreshClusters } from './lib/election-throughput.ts';
import { fdatasyncLatencies, tcpConnectRtts } from './lib/floor.ts';
import { serverStatsBetween, type ServerSideStats } from './lib/server-metrics.ts';

// ------------------------------------------------------------------ arguments (checked before anything starts)

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    parts: { type: 'string', default: 'a,b,c,d' },
    load: { type: 'string', default: 's' },
    etcdctl: { type: 'string', default: 'both' },
    'lab-seconds': { type: 'string', default: '30' },
    'closed-seconds': { type: 'string', default: '15' },
    'single-seconds': { type: 'string', default: '10' },
    'tracker-seconds': { type: 'string', default: '8' },
    'tracker-rounds': { type: 'string', default: '2' },
    'reuse-trials': { type: 'string', default: '5' },
    'fresh-trials': { type: 'string', default: '2' },
    'fsync-count': { type: 'string', default: '200' },
  },
});

function positiveInteger(flag: keyof typeof args): number {
  const value = Number(args[flag]);
  if (!Number.isInteger(value) || value < 1) {
    throw new BadInputError(`--${flag} must be a whole number >= 1, got "${String(args[flag])}"`);
  }
  return value;
}

const PARTS = ['a', 'b', 'c', 'd'] as const;
type Part = (typeof PARTS)[number];
const parts = new Set(args.parts.split(',').map((p) => p.trim()));
for (const name of parts) {
  if (!PARTS.includes(name as Part)) throw new BadInputError(`--parts takes a,b,c,d, got "${name}"`);
}
const wants = (part: Part): boolean => parts.has(part);
if (!isCheckPerfLoad(args.load)) throw new BadInputError(`--load must be s, m, l or xl, got "${args.load}"`);
const load: CheckPerfLoad = args.load;
const etcdctlPlaces = { container: ['container'], host: ['host'], both: ['container', 'host'] } as const;
if (!(args.etcdctl in etcdctlPlaces)) {
  throw new BadInputError(`--etcdctl must be container, host or both, got "${args.etcdctl}"`);
}
const etcdctlWhere = etcdctlPlaces[args.etcdctl as keyof typeof etcdctlPlaces];
const labSeconds = positiveInteger('lab-seconds');
const closedSeconds = positiveInteger('closed-seconds');
const singleSeconds = positiveInteger('single-seconds');
const trackerSeconds = positiveInteger('tracker-seconds');
const trackerRounds = positiveInteger('tracker-rounds');
const reuseTrials = positiveInteger('reuse-trials');
const freshTrials = positiveInteger('fresh-trials');
const fsyncCount = positiveInteger('fsync-count');

// ------------------------------------------------------------------ helpers

const clock = new RunClock();
const rows: SummaryRow[] = [];
const loads: Record<string, LoadAverage> = {};
const figures: Record<string, unknown> = {};
const failures: Record<string, string> = {};

/** The flagship experiment's workload (lab/leader-loss.yaml): what "write latency at rest" means there. */
const FLAGSHIP_LOAD = { ratePerSecond: 200, clients: 4, keyCount: 1_000, valueBytes: 64 } as const;

const scrape = (cluster: StartedEtcdCluster): Promise<string[]> =>
  Promise.all(cluster.members.map((m) => cluster.metrics(m, 10_000)));

const okLatencies = (records: readonly OperationRecord[]): number[] =>
  records.filter((r) => r.outcome === 'ok').map((r) => r.endMs - r.startMs);

/** ok latencies of operations intended (startMs) inside [fromMs, toMs). */
const latenciesIntended = (
  records: readonly OperationRecord[],
  fromMs: number,
  toMs: number,
): LatencySummary =>
  summarizeLatencies(okLatencies(records.filter((r) => r.startMs >= fromMs && r.startMs < toMs)));

/** How late the lab's open-loop scheduler sent operations after their intended time. */
const sendLag = (records: readonly OperationRecord[]): LatencySummary =>
  summarizeLatencies(records.map((r) => (r.sentMs ?? r.startMs) - r.startMs));

function workloadFigures(run: WorkloadResult) {
  const summary = summarizeOperations(run.records, { fromMs: run.startedMs, toMs: run.endedMs + 1 });
  return {
    mode: run.mode,
    clients: run.clients,
    ratePerSecond: run.ratePerSecond ?? null,
    throughput: summary.throughput,
    outcomes: summary.outcomes,
    latency: summary.latency,
    sendLag: run.mode === 'open-loop' ? sendLag(run.records) : null,
    backlogged: run.backlogged,
  };
}

const ms = (v: number | null | undefined): string => (v === null || v === undefined ? '?' : v.toFixed(1));
const lat = (s: LatencySummary): string =>
  `p50 ${ms(s.p50)} p99 ${ms(s.p99)} mean ${ms(s.mean)} sd ${ms(s.stddev)} max ${ms(s.max)} ms (n=${s.count})`;

/** Runs one part; a part that fails is reported and the others still run. */
async function part(name: string, run: () => Promise<void>): Promise<void> {
  loads[`${name} start`] = reportLoad(`before part ${name}`);
  try {
    await run();
  } catch (error) {
    failures[name] = (error as Error).stack ?? String(error);
    console.log(`part ${name} failed: ${(error as Error).message}`);
  }
}

// ------------------------------------------------------------------ a: lab driver vs etcdctl check perf

interface EtcdctlRun {
  readonly where: 'container' | 'host';
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly elapsedMs: number;
  readonly report: CheckPerfReport;
  readonly server: ServerSideStats;
  readonly output: string;
}

async function runCheckPerf(cluster: StartedEtcdCluster, where: 'container' | 'host'): Promise<EtcdctlRun> {
  const level = CHECK_PERF_LEVELS[load];
  // In the container etcdctl reaches the members over the cluster network; on the host it
  // takes the lab's own path, the published client ports.
  const endpoints =
    where === 'container'
      ? cluster.members.map((m) => m.internalClientUrl)
      : cluster.members.map((m) => m.clientEndpoint);
  const etcdctlArgs = [`--endpoints=${endpoints.join(',')}`, 'check', 'perf', `--load=${load}`];
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

async function partA(cluster: StartedEtcdCluster): Promise<void> {
  const level = CHECK_PERF_LEVELS[load];
  // etcd's benchmark tool (tools/benchmark) would allow any rate and a closed loop; neither image nor host has it.
  const benchmarkInImage = await execa('docker', ['exec', cluster.member('m1').containerName, 'benchmark'], {
    reject: false,
    all: true,
  });
  const benchmarkOnHost = await execa('sh', ['-c', 'command -v benchmark'], { reject: false });
  const etcdctlVersion = (await execa('etcdctl', ['version'], { reject: false })).stdout;

  const etcdctlRuns: EtcdctlRun[] = [];
  for (const where of etcdctlWhere) etcdctlRuns.push(await runCheckPerf(cluster, where));

  // The lab at check perf's rate and clients, with its key and value sizes: keys are the
  // padded prefix plus a random number below 10^9, so about 256 bytes and nearly all new.
  const sizes = {
    mix: { put: 1 },
    keyPrefix: 'overhead-a/'.padEnd(CHECK_PERF_KEY_BYTES - 9, '_'),
    keyCount: 1_000_000_000,
    valueBytes: CHECK_PERF_VALUE_BYTES,
    clock,
  } as const;
  progress(`a: lab open loop ${level.ratePerSecond}/s, ${level.clients} clients, ${labSeconds} s`);
  let before = await scrape(cluster);
  const open = await runWorkload(cluster, {
    ...sizes,
    mode: 'open-loop',
    ratePerSecond: level.ratePerSecond,
    clients: level.clients,
    durationMs: labSeconds * 1_000,
  });
  const openServer = serverStatsBetween(before, await scrape(cluster));
  progress(`a: lab closed loop, ${level.clients} clients, ${closedSeconds} s`);
  before = await scrape(cluster);
  const closed = await runWorkload(cluster, {
    ...sizes,
    mode: 'closed-loop',
    clients: level.clients,
    durationMs: closedSeconds * 1_000,
  });
  const closedServer = serverStatsBetween(before, await scrape(cluster));
  const openFigures = workloadFigures(open);
  const closedFigures = workloadFigures(closed);

  console.log(
    `\na. check perf --load=${load}: ${level.ratePerSecond} puts/s, ${level.clients} clients, 60 s`,
  );
  for (const run of etcdctlRuns) {
    const r = run.report;
    console.log(
      `  etcdctl (${run.where}): ${r.throughputWritesPerSecond ?? '?'} writes/s, slowest ${ms(r.slowestMs)} ms, ` +
        `stddev ${ms(r.stddevMs)} ms, ${r.verdict ?? 'no verdict'}; server-side Put mean ${ms(run.server.putMeanMs)} ms`,
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

  for (const run of etcdctlRuns) {
    const note = `etcdctl in ${run.where}`;
    rows.push(
      summaryRow(
        'a',
        `throughput at ${level.ratePerSecond}/s, writes/s`,
        openFigures.throughput,
        run.report.throughputWritesPerSecond,
        note,
      ),
      summaryRow('a', 'latency stddev, ms', openFigures.latency.stddev, run.report.stddevMs, note),
      summaryRow('a', 'slowest request, ms', openFigures.latency.max, run.report.slowestMs, note),
      summaryRow(
        'a',
        'server-side Put mean during the run, ms',
        openServer.putMeanMs,
        run.server.putMeanMs,
        note,
      ),
    );
  }
  rows.push(
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
  figures.a = {
    load,
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

// ------------------------------------------------------------------ b: single client vs the machine's floor

/** About one small put's WAL record. */
const FSYNC_BYTES = 512;

async function partB(cluster: StartedEtcdCluster, kind: DataDirKind): Promise<void> {
  const { leader } = await cluster.waitForStableLeader();
  const follower = cluster.members.find((m) => m !== leader);
  if (follower === undefined) throw new Error('need at least two members');
  progress(`b (${kind}): round trips, no-fsync RPC, fdatasync, then one client's puts to the leader`);
  // Host → leader through the published port (the lab's path) and straight to its bridge address.
  const viaPort = await tcpConnectRtts('127.0.0.1', leader.hostClientPort);
  const viaBridge = await tcpConnectRtts(leader.ip, CLIENT_PORT);
  // Follower → leader's peer port, from inside the follower's network namespace: replication's round trip.
  const peer = await connectRtts(follower.pid, leader.ip, PEER_PORT, { count: 200, gapMs: 2 });
  // A serializable get of a missing key: the lab's client, gRPC and etcd's read path, no raft and no fsync.
  const client = cluster.memberClient(leader);
  const rpc: number[] = [];
  for (let i = 0; i < 1_020; i++) {
    const started = performance.now();
    await client.kv.range({ key: Buffer.from('overhead-b/missing'), serializable: true });
    if (i >= 20) rpc.push(performance.now() - started); // the first calls set up the connection
  }
  const mount = (await leader.container.inspect()).Mounts.find((m) => m.Destination === DATA_MOUNT);
  if (mount === undefined) throw new Error(`no ${DATA_MOUNT} mount on ${leader.name}`);
  const fsync = summarizeLatencies(fdatasyncLatencies(mount.Source, fsyncCount, FSYNC_BYTES));

  const before = await scrape(cluster);
  const single = await runWorkload(cluster, {
    mode: 'closed-loop',
    clients: 1,
    connectTo: { member: leader },
    durationMs: singleSeconds * 1_000,
    mix: { put: 1 },
    keyPrefix: 'overhead-b/',
    keyCount: 1_000,
    valueBytes: 64,
    clock,
  });
  const server = serverStatsBetween(before, await scrape(cluster));
  const put = workloadFigures(single);
  const port = summarizeLatencies(viaPort.rttsMs);
  const bridge = summarizeLatencies(viaBridge.rttsMs);
  const peerRtt = summarizeLatencies(peer.rttsMs);
  const rpcFloor = summarizeLatencies(rpc);
  // A put to the leader commits once the leader's own WAL fsync and a follower's (a peer round
  // trip away) are done, and they run in parallel: client round trip + peer round trip + fsync.
  const floorMs = (port.p50 ?? NaN) + (peerRtt.p50 ?? NaN) + (fsync.p50 ?? NaN);
  const rpcFloorMs = (rpcFloor.p50 ?? NaN) + (peerRtt.p50 ?? NaN) + (fsync.p50 ?? NaN);

  console.log(
    `\nb. ${kind} data dir (${mount.Source}), one client, closed loop, to the leader ${leader.name}`,
  );
  console.log(`  put through the lab: ${lat(put.latency)}, ${put.throughput?.toFixed(0)} puts/s`);
  console.log(
    `  TCP connect host→leader: via published port p50 ${ms(port.p50)}, via bridge IP p50 ${ms(bridge.p50)}; ` +
      `follower→leader peer port p50 ${ms(peerRtt.p50)} ms`,
  );
  console.log(`  serializable get of a missing key (no raft, no fsync): ${lat(rpcFloor)}`);
  console.log(
    `  fdatasync after a ${FSYNC_BYTES} B append in ${mount.Source}: ${lat(fsync)}; etcd's WAL fsync mean ${ms(server.walFsyncMeanMs)} ms`,
  );
  console.log(
    `  floor = host RTT + peer RTT + fsync = ${ms(floorMs)} ms → lab p50 / floor ${((put.latency.p50 ?? NaN) / floorMs).toFixed(2)}; ` +
      `RPC floor = get + peer RTT + fsync = ${ms(rpcFloorMs)} ms; server-side Put mean ${ms(server.putMeanMs)} ms`,
  );
  rows.push(
    summaryRow('b', `${kind}: 1-client put p50 vs floor (RTT+peer RTT+fsync), ms`, put.latency.p50, floorMs),
    summaryRow(
      'b',
      `${kind}: 1-client put p50 vs RPC floor (get+peer RTT+fsync), ms`,
      put.latency.p50,
      rpcFloorMs,
    ),
    summaryRow(
      'b',
      `${kind}: 1-client put mean vs server-side Put mean, ms`,
      put.latency.mean,
      server.putMeanMs,
    ),
    summaryRow(
      'b',
      `${kind}: fdatasync p50 (script) vs etcd WAL fsync mean, ms`,
      fsync.p50,
      server.walFsyncMeanMs,
      'informational',
    ),
  );
  figures[`b-${kind}`] = {
    dataDir: mount.Source,
    leader: leader.name,
    put,
    server,
    tcpConnectViaPublishedPort: { ...port, failed: viaPort.failed },
    tcpConnectViaBridge: { ...bridge, failed: viaBridge.failed },
    peerConnect: { ...peerRtt, failed: peer.failed },
    serializableGetMissingKey: rpcFloor,
    fdatasync: fsync,
    floorMs,
    rpcFloorMs,
  };
}

// ------------------------------------------------------------------ c: tracker cost and the flagship's pre-fault window

interface WindowEvidence {
  readonly durationMs: number;
  readonly server: ServerSideStats;
  /** Share of all cores' time not idle. */
  readonly hostCpuBusy: number;
  /** CPU time of this process over the window, in cores (1 = one core fully busy). */
  readonly labProcessCpu: number;
  readonly eventLoopDelayP99Ms: number;
  readonly eventLoopDelayMaxMs: number;
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** Starts measuring a window; `close()` returns what etcd, the host and this process did in it. */
async function openWindow(cluster: StartedEtcdCluster, eventLoop: IntervalHistogram) {
  const metricsBefore = await scrape(cluster);
  const hostBefore = cpuTimes();
  const processBefore = process.cpuUsage();
  const began = performance.now();
  eventLoop.reset();
  eventLoop.enable();
  return {
    close: async (): Promise<WindowEvidence> => {
      const durationMs = performance.now() - began;
      const processUsed = process.cpuUsage(processBefore);
      const hostAfter = cpuTimes();
      const evidence = {
        durationMs,
        hostCpuBusy: (hostAfter.busy - hostBefore.busy) / (hostAfter.total - hostBefore.total),
        labProcessCpu: (processUsed.user + processUsed.system) / 1_000 / durationMs,
        eventLoopDelayP99Ms: eventLoop.percentile(99) / 1e6,
        eventLoopDelayMaxMs: eventLoop.max / 1e6,
      };
      eventLoop.disable();
      return { ...evidence, server: serverStatsBetween(metricsBefore, await scrape(cluster)) };
    },
  };
}

/**
 * The flagship run's timeline, without its kill: a fresh cluster, the tracker at 20 ms, the
 * flagship's load; at 4 s what the experiment runner does before it injects a leader fault —
 * it looks the leader up (once in runMethod, once when the fault resolves "leader") and, as
 * it passes no capabilities, the fault probes the host (sudo, ip netns, tc, iptables, cgroups).
 */
async function flagshipReplay(cluster: StartedEtcdCluster): Promise<void> {
  const FAULT_AT_MS = 4_000;
  const AFTER_MS = 3_000;
  progress('c: flagship replay (tracker 20 ms, 200/s, 4 clients, preparation at 4 s)');
  await cluster.waitForStableLeader();
  const tracker = new LeaderTracker(cluster, clock, { intervalMs: 20 }).start();
  const marks = { workloadStartMs: NaN, preparationStartMs: NaN, probeStartMs: NaN, preparationEndMs: NaN };
  // Who is slow while the probe runs: etcd (its own Put time), the machine (CPU), or the
  // lab's process (its event loop, where the workload's timers and callbacks run)?
  const eventLoop = monitorEventLoopDelay({ resolution: 5 });
  const evidence: Record<string, WindowEvidence> = {};
  let run: WorkloadResult;
  try {
    let onStart: (startedMs: number) => void = () => undefined;
    const started = new Promise<number>((resolve) => (onStart = resolve));
    const workload = runWorkload(cluster, {
      mode: 'open-loop',
      ...FLAGSHIP_LOAD,
      durationMs: FAULT_AT_MS + AFTER_MS,
      mix: { put: 1 },
      keyPrefix: 'overhead-flagship/',
      clock,
      onStart,
    });
    const preparation = started.then(async (workloadStartMs) => {
      marks.workloadStartMs = workloadStartMs;
      await sleep(Math.max(0, workloadStartMs + 1_000 - clock.now()));
      let window = await openWindow(cluster, eventLoop);
      await sleep(Math.max(0, workloadStartMs + FAULT_AT_MS - clock.now()));
      evidence.settled = await window.close();
      marks.preparationStartMs = clock.now();
      await cluster.waitForStableLeader({ timeoutMs: 10_000 });
      await cluster.waitForStableLeader({ timeoutMs: 10_000 });
      window = await openWindow(cluster, eventLoop);
      marks.probeStartMs = clock.now();
      await probeHostCapabilities({ fresh: true });
      marks.preparationEndMs = clock.now();
      evidence.hostProbe = await window.close();
    });
    [run] = await Promise.all([workload, preparation]);
  } finally {
    await tracker.stop();
    eventLoop.disable();
  }
  const t0 = marks.workloadStartMs;
  const windows = {
    firstSecond: latenciesIntended(run.records, t0, t0 + 1_000),
    settled: latenciesIntended(run.records, t0 + 1_000, marks.preparationStartMs),
    leaderLookups: latenciesIntended(run.records, marks.preparationStartMs, marks.probeStartMs),
    hostProbe: latenciesIntended(run.records, marks.probeStartMs, marks.preparationEndMs),
    after: latenciesIntended(run.records, marks.preparationEndMs, Infinity),
    wholeBaselineAsReported: latenciesIntended(run.records, t0, marks.preparationEndMs),
  };
  const probeMs = marks.preparationEndMs - marks.probeStartMs;
  console.log('\nc. flagship replay, write latency by when the write was due:');
  for (const [name, summary] of Object.entries(windows)) console.log(`  ${name.padEnd(24)} ${lat(summary)}`);
  console.log(
    `  leader look-ups took ${ms(marks.probeStartMs - marks.preparationStartMs)} ms, host capability probe ${ms(probeMs)} ms`,
  );
  for (const [name, e] of Object.entries(evidence)) {
    console.log(
      `  ${name.padEnd(9)} (${e.durationMs.toFixed(0)} ms): etcd's own Put mean ${ms(e.server.putMeanMs)} ms, host CPU busy ${(100 * e.hostCpuBusy).toFixed(0)}%, ` +
        `lab process CPU ${(100 * e.labProcessCpu).toFixed(0)}% of a core, event-loop delay p99 ${ms(e.eventLoopDelayP99Ms)} max ${ms(e.eventLoopDelayMaxMs)} ms`,
    );
  }
  rows.push(
    summaryRow(
      'c',
      'flagship replay: p99 first 1 s vs settled, ms',
      windows.firstSecond.p99,
      windows.settled.p99,
      'warm-up',
    ),
    summaryRow(
      'c',
      'flagship replay: p99 during host probe vs settled, ms',
      windows.hostProbe.p99,
      windows.settled.p99,
      `probe ${probeMs.toFixed(0)} ms`,
    ),
    summaryRow(
      'c',
      'flagship replay: p99 during leader look-ups vs settled, ms',
      windows.leaderLookups.p99,
      windows.settled.p99,
    ),
    summaryRow(
      'c',
      'flagship replay: p99 baseline incl. preparation vs settled, ms',
      windows.wholeBaselineAsReported.p99,
      windows.settled.p99,
      'as run-experiment reports',
    ),
  );
  rows.push(
    summaryRow(
      'c',
      "flagship replay: etcd's own Put mean, probe vs settled, ms",
      evidence.hostProbe?.server.putMeanMs,
      evidence.settled?.server.putMeanMs,
    ),
    summaryRow(
      'c',
      'flagship replay: event-loop delay p99, probe vs settled, ms',
      evidence.hostProbe?.eventLoopDelayP99Ms,
      evidence.settled?.eventLoopDelayP99Ms,
    ),
  );
  figures.flagshipReplay = { marks, probeMs, windows, evidence, trackerPolls: tracker.polls };
}

async function trackerCost(cluster: StartedEtcdCluster): Promise<void> {
  const INTERVALS = [null, 10, 20] as const; // null: no tracker
  const latencies = new Map<number | null, number[]>(INTERVALS.map((i) => [i, []]));
  const polls = new Map<number | null, number>();
  for (let round = 1; round <= trackerRounds; round++) {
    // Alternating A/B/C, A/B/C…, so a drift in the machine's load falls on every condition alike.
    for (const intervalMs of INTERVALS) {
      progress(`c: round ${round}, tracker ${intervalMs === null ? 'off' : `every ${intervalMs} ms`}`);
      const tracker =
        intervalMs === null ? undefined : new LeaderTracker(cluster, clock, { intervalMs }).start();
      const began = performance.now();
      let run: WorkloadResult;
      try {
        run = await runWorkload(cluster, {
          mode: 'open-loop',
          ...FLAGSHIP_LOAD,
          durationMs: trackerSeconds * 1_000,
          mix: { put: 1 },
          keyPrefix: 'overhead-c/',
          clock,
        });
      } finally {
        await tracker?.stop();
      }
      latencies.get(intervalMs)?.push(...okLatencies(run.records));
      if (tracker)
        polls.set(
          intervalMs,
          (polls.get(intervalMs) ?? 0) + tracker.polls / ((performance.now() - began) / 1_000),
        );
    }
  }
  const summaries = new Map(
    [...latencies].map(([interval, samples]) => [interval, summarizeLatencies(samples)]),
  );
  const off = summaries.get(null);
  console.log(
    `\nc. tracker cost, ${trackerRounds} rounds × ${trackerSeconds} s each, flagship load (200/s, 4 clients):`,
  );
  for (const [interval, summary] of summaries) {
    const pollRate = polls.get(interval);
    console.log(
      `  tracker ${interval === null ? 'off   ' : `${interval} ms`}: ${lat(summary)}` +
        (pollRate === undefined ? '' : `; ${(pollRate / trackerRounds).toFixed(0)} status calls/s`),
    );
    if (interval !== null) {
      rows.push(
        summaryRow('c', `tracker ${interval} ms vs off: write p50, ms`, summary.p50, off?.p50),
        summaryRow('c', `tracker ${interval} ms vs off: write p99, ms`, summary.p99, off?.p99),
      );
    }
  }
  figures.trackerCost = {
    rounds: trackerRounds,
    secondsPerRun: trackerSeconds,
    byInterval: Object.fromEntries([...summaries].map(([i, s]) => [i === null ? 'off' : `${i}ms`, s])),
    statusCallsPerSecond: Object.fromEntries([...polls].map(([i, p]) => [`${i}ms`, p / trackerRounds])),
  };
}

// ------------------------------------------------------------------ d: election trials per minute

async function partD(): Promise<void> {
  const timing = { heartbeatMs: 10, electionTimeoutMs: 100 };
  progress(
    `d: ${reuseTrials} kill trials on one cluster, then ${freshTrials} on fresh clusters (HB/ET 10/100)`,
  );
  let reuse;
  {
    await using cluster = await new EtcdCluster().withMembers(3).withEtcdOptions(timing).start();
    reuse = (await trialsReusingCluster(cluster, { trials: reuseTrials, fault: 'kill', clock })).rate;
  }
  const fresh = await trialsWithFreshClusters(timing, { trials: freshTrials, fault: 'kill', clock });
  console.log(
    `\nd. election trials/min (kill, HB/ET 10/100): reusing one cluster ${reuse.perMinute.toFixed(1)} ` +
      `(${reuse.trials} trials), fresh cluster per trial ${fresh.perMinute.toFixed(1)} (${fresh.trials}, start and dispose included)`,
  );
  rows.push(summaryRow('d', 'election trials/min: reuse vs fresh cluster', reuse.perMinute, fresh.perMinute));
  figures.d = { timing, reuse, fresh };
}

// ------------------------------------------------------------------ run

await prepareHost(); // image build / pull is a one-time cost, not part of any figure
loads.start = reportLoad('start');
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
    await part('c', async () => {
      await flagshipReplay(cluster);
      await trackerCost(cluster);
    });
  if (wants('a')) await part('a', () => partA(cluster));
  if (wants('b')) await part('b-memory', () => partB(cluster, 'memory'));
}
if (wants('b')) {
  await part('b-disk', async () => {
    await using cluster = await new EtcdCluster()
      .withMembers(3)
      .withDataDir('disk')
      .withEtcdOptions(metricsFlags)
      .start();
    await partB(cluster, 'disk');
  });
}
if (wants('d')) await part('d', partD);

loads.end = reportLoad('end');
console.log('\nsummary (ratio = lab ÷ reference):');
printSummary(rows);
const path = writeBenchJson('overhead', {
  bench: 'overhead',
  startedAt,
  durationMs: clock.now(),
  args,
  cpus: cpus().length,
  loadAverage: loads,
  environment,
  summary: rows,
  figures,
  failures,
});
console.log(`\nfigures written to ${path}`);
