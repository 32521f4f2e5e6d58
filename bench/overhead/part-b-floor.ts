// Part b of the overhead benchmark: one client's sequential put latency vs this machine's floor
// (round trip to a member, member-to-member round trip, fdatasync where the data lives).
import { DATA_MOUNT, type DataDirKind } from '../../src/cluster/etcd-cluster.ts';
import { CLIENT_PORT, PEER_PORT } from '../../src/cluster/etcd-options.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { connectRtts } from '../../src/faults/network/netns-rtt.ts';
import { summarizeLatencies } from '../../src/measure/latency-stats.ts';
import { progress } from '../../src/util/log.ts';
import { runWorkload } from '../../src/workload/run-workload.ts';
import { summaryRow } from '../lib/bench-output.ts';
import { fdatasyncLatencies, tcpConnectRtts } from '../lib/floor.ts';
import { reportGoal } from '../lib/goals.ts';
import { serverStatsBetween } from '../lib/server-metrics.ts';
import { lat, ms, scrape, workloadFigures, type OverheadRun } from './run-state.ts';

/** About one small put's WAL record. */
const FSYNC_BYTES = 512;

export async function partB(run: OverheadRun, cluster: StartedEtcdCluster, kind: DataDirKind): Promise<void> {
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
  // The same puts through etcd3 alone, one after another: no workload driver, no history recording.
  // Lab put − this is the lab's own share; this − the get above is raft + fsync + the write path.
  const rawPut: number[] = [];
  const rawUntil = performance.now() + (run.args.singleSeconds * 1_000) / 2;
  for (let i = 0; performance.now() < rawUntil; i++) {
    const started = performance.now();
    await client.put(`overhead-b/raw-${i % 1_000}`).value('x'.repeat(64));
    if (i >= 20) rawPut.push(performance.now() - started);
  }
  const mount = (await leader.container.inspect()).Mounts.find((m) => m.Destination === DATA_MOUNT);
  if (mount === undefined) throw new Error(`no ${DATA_MOUNT} mount on ${leader.name}`);
  const fsync = summarizeLatencies(fdatasyncLatencies(mount.Source, run.args.fsyncCount, FSYNC_BYTES));

  const before = await scrape(cluster);
  const single = await runWorkload(cluster, {
    mode: 'closed-loop',
    clients: 1,
    connectTo: { member: leader },
    durationMs: run.args.singleSeconds * 1_000,
    mix: { put: 1 },
    keyPrefix: 'overhead-b/',
    keyCount: 1_000,
    valueBytes: 64,
    clock: run.clock,
  });
  const server = serverStatsBetween(before, await scrape(cluster));
  const put = workloadFigures(single);
  const port = summarizeLatencies(viaPort.rttsMs);
  const bridge = summarizeLatencies(viaBridge.rttsMs);
  const peerRtt = summarizeLatencies(peer.rttsMs);
  const rpcFloor = summarizeLatencies(rpc);
  const raw = summarizeLatencies(rawPut);
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
  console.log(`  put through etcd3 alone (no workload driver, no recording): ${lat(raw)}`);
  console.log(
    `  fdatasync after a ${FSYNC_BYTES} B append in ${mount.Source}: ${lat(fsync)}; etcd's WAL fsync mean ${ms(server.walFsyncMeanMs)} ms`,
  );
  console.log(
    `  floor = host RTT + peer RTT + fsync = ${ms(floorMs)} ms → lab p50 / floor ${((put.latency.p50 ?? NaN) / floorMs).toFixed(2)}; ` +
      `RPC floor = get + peer RTT + fsync = ${ms(rpcFloorMs)} ms; server-side Put mean ${ms(server.putMeanMs)} ms`,
  );
  const ratio = (put.latency.p50 ?? NaN) / floorMs;
  reportGoal({
    what: `single-client put p50 ÷ floor (host RTT + peer RTT + fsync), ${kind} data dir`,
    goal: '≤ 2×',
    // Next to it what the lab cannot go below: etcd3 alone, and etcd's own server-side time.
    measured:
      `${ratio.toFixed(2)}× (${ms(put.latency.p50)} ms ÷ ${ms(floorMs)} ms); ` +
      `etcd3 alone ${((raw.p50 ?? NaN) / floorMs).toFixed(2)}×, server-side Put mean ${((server.putMeanMs ?? NaN) / floorMs).toFixed(2)}×`,
    met: Number.isFinite(ratio) ? ratio <= 2 : undefined,
  });
  run.rows.push(
    summaryRow('b', `${kind}: 1-client put p50 vs floor (RTT+peer RTT+fsync), ms`, put.latency.p50, floorMs),
    summaryRow(
      'b',
      `${kind}: 1-client put p50 vs RPC floor (get+peer RTT+fsync), ms`,
      put.latency.p50,
      rpcFloorMs,
    ),
    summaryRow(
      'b',
      `${kind}: 1-client put p50 vs etcd3 alone (the lab's own share), ms`,
      put.latency.p50,
      raw.p50,
    ),
    summaryRow(
      'b',
      `${kind}: etcd3 put p50 vs serializable get p50 (gRPC + client floor), ms`,
      raw.p50,
      rpcFloor.p50,
      'informational',
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
  run.figures[`b-${kind}`] = {
    dataDir: mount.Source,
    leader: leader.name,
    put,
    server,
    tcpConnectViaPublishedPort: { ...port, failed: viaPort.failed },
    tcpConnectViaBridge: { ...bridge, failed: viaBridge.failed },
    peerConnect: { ...peerRtt, failed: peer.failed },
    serializableGetMissingKey: rpcFloor,
    putThroughEtcd3Alone: raw,
    fdatasync: fsync,
    floorMs,
    rpcFloorMs,
  };
}
