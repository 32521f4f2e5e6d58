/**
 * The quorum model checked on real etcd: the n × k matrix. For each size one cluster; each cell
 * (matrix-cell.ts) is recorded, and after a size's cells every acknowledged write is checked
 * against the final values. The comparison with the model and the claims are pure (matrix.ts).
 */
import { EtcdCluster } from '../../cluster/etcd-cluster.ts';
import type { StartedEtcdCluster } from '../../cluster/started-etcd-cluster.ts';
import { checkAcknowledgedWrites, type AcknowledgedWritesResult } from '../../checks/acknowledged-writes.ts';
import { findFaultResidue, type Residue } from '../../faults/residue.ts';
import { History } from '../../history/history.ts';
import type { OperationRecord } from '../../history/operation-record.ts';
import { RecordingClient } from '../../history/recording-client.ts';
import { summarizeOperations, type OperationsSummary } from '../../measure/latency-stats.ts';
import { RunClock } from '../../util/clock.ts';
import { progress } from '../../util/log.ts';
import { runWorkload } from '../../workload/run-workload.ts';
import { KEY_PREFIX, RECOVERY_TIMEOUT_MS, runCell } from './matrix-cell.ts';
import type { MatrixCell } from './matrix.ts';
import {
  LATENCY_SIZES,
  QUORUM_TIMING,
  validateMatrixOptions,
  type LatencyLoad,
  type QuorumMatrixOptions,
} from './quorum-options.ts';

export interface LatencyBySize {
  readonly members: number;
  readonly openLoop: OperationsSummary;
  readonly closedLoop: OperationsSummary;
}

export interface ClusterRun {
  readonly members: number;
  /** What produced the cluster: image, etcd version, timing, pre-vote. */
  readonly environment: Record<string, unknown>;
  readonly acknowledgedWrites: AcknowledgedWritesResult | null;
  /** What the cells' faults left on the members after their last heal (empty: everything healed). */
  readonly faultResidue: readonly Residue[];
  readonly wallTimeMs: number;
}

export interface QuorumMatrixResult {
  readonly cells: readonly MatrixCell[];
  readonly clusters: readonly ClusterRun[];
  readonly latency: readonly LatencyBySize[];
  readonly settings: {
    readonly heartbeatMs: number;
    readonly electionTimeoutMs: number;
    readonly preVote: boolean;
    readonly observeMs: number;
    readonly callTimeoutMs: number;
    readonly latencyLoad: LatencyLoad | null;
  };
  readonly wallTimeMs: number;
  readonly history: History;
}

/**
 * Runs the matrix: for each size one cluster; for each mechanism and k = 0..n, take k members down
 * (leader first, see membersToTakeDown), observe, heal, wait for a stable leader and caught-up
 * members, next k. After a size's cells, every acknowledged write is checked against the final values.
 */
export async function runQuorumMatrix(options: QuorumMatrixOptions): Promise<QuorumMatrixResult> {
  const settings = validateMatrixOptions(options);
  const clock = options.clock ?? new RunClock();
  const history = options.history ?? new History();
  const startedMs = clock.now();
  const cells: MatrixCell[] = [];
  const clusters: ClusterRun[] = [];
  const latency: LatencyBySize[] = [];
  for (const n of options.sizes) {
    options.signal?.throwIfAborted();
    const clusterStartMs = clock.now();
    const builder = new EtcdCluster().withMembers(n).withEtcdOptions(settings.etcd).withDataDir('memory');
    if (options.image !== undefined) builder.withImage(options.image);
    progress(`quorum matrix: starting a ${n}-member cluster`);
    const cluster = await builder.start();
    try {
      await cluster.waitForStableLeader({ timeoutMs: RECOVERY_TIMEOUT_MS });
      if (options.latencyLoad !== undefined && LATENCY_SIZES.includes(n)) {
        latency.push(await measureWriteLatency(cluster, options.latencyLoad, clock, options.signal));
      }
      const recorders = new Map(
        cluster.members.map((m) => [
          m.name,
          new RecordingClient(cluster.memberClient(m, { callTimeoutMs: settings.callTimeoutMs }), {
            clientId: `n${n}-${m.name}`,
            role: { of: 'quorum-cluster', members: n },
            clock,
            history,
          }),
        ]),
      );
      const cellContext = { cluster, clock, recorders, settings, signal: options.signal };
      let recovered = true;
      for (const mechanism of options.mechanisms) {
        for (let k = 0; k <= n && recovered; k++) {
          options.signal?.throwIfAborted();
          const cell = await runCell(cellContext, n, k, mechanism);
          cells.push(cell);
          options.onCell?.(cell);
          recovered = cell.timings.recoveryMs !== null;
        }
      }
      const acknowledgedWrites = recovered
        ? checkAcknowledgedWrites(ownRecords(history, n), await readFinalValues(cluster))
        : null;
      clusters.push({
        members: n,
        environment: cluster.describe(),
        acknowledgedWrites,
        faultResidue: await findFaultResidue(cluster),
        wallTimeMs: clock.now() - clusterStartMs,
      });
    } finally {
      await cluster.dispose();
    }
  }
  return {
    cells,
    clusters,
    latency,
    settings: {
      heartbeatMs: settings.etcd.heartbeatMs ?? QUORUM_TIMING.heartbeatMs,
      electionTimeoutMs: settings.electionTimeoutMs,
      preVote: settings.etcd.preVote ?? true,
      observeMs: settings.observeMs,
      callTimeoutMs: settings.callTimeoutMs,
      latencyLoad: options.latencyLoad ?? null,
    },
    wallTimeMs: clock.now() - startedMs,
    history,
  };
}

const ownRecords = (history: History, n: number): OperationRecord[] =>
  history.records.filter((r) => r.role?.of === 'quorum-cluster' && r.role.members === n);

async function readFinalValues(cluster: StartedEtcdCluster): Promise<Map<string, string>> {
  const client = cluster.client({ retries: true, callTimeoutMs: 10_000 });
  return new Map(Object.entries(await client.getAll().prefix(KEY_PREFIX).strings()));
}

/** Write latency (open loop, fixed rate) and throughput (closed loop) on a healthy cluster. */
async function measureWriteLatency(
  cluster: StartedEtcdCluster,
  load: LatencyLoad,
  clock: RunClock,
  signal: AbortSignal | undefined,
): Promise<LatencyBySize> {
  const n = cluster.members.length;
  progress(
    `quorum matrix: write latency on ${n} members, ${load.ratePerSecond} writes/s for ${load.durationMs} ms`,
  );
  const common = {
    durationMs: load.durationMs,
    mix: { put: 1 },
    keyPrefix: `latency/`,
    callTimeoutMs: 2_000,
    clock,
    ...(signal === undefined ? {} : { signal }),
  };
  const open = await runWorkload(cluster, {
    ...common,
    mode: 'open-loop',
    ratePerSecond: load.ratePerSecond,
    clients: load.clients,
  });
  const closed = await runWorkload(cluster, {
    ...common,
    mode: 'closed-loop',
    clients: load.closedLoopClients,
  });
  return {
    members: n,
    openLoop: summarizeOperations(open.records),
    closedLoop: summarizeOperations(closed.records),
  };
}
