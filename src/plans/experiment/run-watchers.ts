import type { Etcd3 } from 'etcd3';
import type { StartedEtcdCluster } from '../../cluster/started-etcd-cluster.ts';
import { changesBetween, truthOfRecords, type ResolvedRevisions } from '../../checks/watch-history.ts';
import type { KvEvent, KvSnapshot } from '../../checks/watch/index.ts';
import type { OperationRecord } from '../../history/operation-record.ts';
import type { RunClock } from '../../util/clock.ts';
import { WatchRecorder, type RecordedWatcher } from '../../workload/watch-recorder.ts';
import type { FaultExperimentSpec } from './spec.ts';

/**
 * The experiment's watchers (`workload.watchers`): opened on the healthy cluster just before
 * the workload, from the revision read then; at the end, once the cluster has recovered,
 * stopped when each has been told about the store's final revision, and the revisions the
 * history leaves unknown resolved by range reads (src/checks/watch-history.ts says why reads,
 * not a watch). The check itself runs after the cluster is gone.
 */

export interface WatchRecording {
  readonly watchers: readonly RecordedWatcher[];
  readonly finalRevision: number | null;
  readonly resolved: ResolvedRevisions;
}

export async function startWatchers(
  spec: FaultExperimentSpec,
  cluster: StartedEtcdCluster,
  clock: RunClock,
  initialRevision: number | null,
): Promise<WatchRecorder | null> {
  const w = spec.workload.watchers;
  if (w === undefined) return null;
  return WatchRecorder.start(cluster, {
    prefix: `${spec.name}/`,
    count: w.count,
    sharedStreams: w.sharedStreams,
    connectTo: w.connectTo,
    startRevision: w.startFrom === 'initial' && initialRevision !== null ? initialRevision + 1 : 'now',
    progressNotify: w.progressNotify,
    prevKv: w.prevKv,
    clock,
  });
}

/** At most this many revisions are resolved by reads (two range reads each). */
const MAX_RESOLVED = 2_000;

export async function finishWatchers(
  recorder: WatchRecorder,
  cluster: StartedEtcdCluster,
  records: readonly OperationRecord[],
  prefix: string,
  initialRevision: number | null,
): Promise<WatchRecording> {
  const client = cluster.client({ retries: true, callTimeoutMs: 10_000 });
  try {
    const finalRevision = await client
      .getAll()
      .prefix(prefix)
      .limit(1)
      .exec()
      .then((r) => Number(r.header.revision))
      .catch(() => null);
    const watchers = await recorder.stop(finalRevision);
    const { truth } = truthOfRecords(records, { prefix, initialRevision, finalRevision });
    const wanted = truth.unknownRevisions.slice(0, MAX_RESOLVED);
    const resolved = await readChanges(client, prefix, wanted);
    return { watchers, finalRevision, resolved };
  } finally {
    client.close();
  }
}

/** The changes at each revision, from range reads of the prefix at r − 1 and r. */
async function readChanges(
  client: Etcd3,
  prefix: string,
  revisions: readonly number[],
): Promise<ResolvedRevisions> {
  const cache = new Map<number, Map<string, KvSnapshot>>();
  const at = async (revision: number): Promise<Map<string, KvSnapshot>> => {
    const cached = cache.get(revision);
    if (cached) return cached;
    const response = await client.getAll().prefix(prefix).revision(revision).exec();
    const kvs = new Map<string, KvSnapshot>(
      response.kvs.map((kv) => [
        kv.key.toString(),
        {
          key: kv.key.toString(),
          value: kv.value.toString(),
          createRevision: Number(kv.create_revision),
          modRevision: Number(kv.mod_revision),
          version: Number(kv.version),
        },
      ]),
    );
    cache.set(revision, kvs);
    // Only the previous revision is needed again (runs of consecutive unknown revisions).
    cache.delete(revision - 2);
    return kvs;
  };
  const done: number[] = [];
  const events: KvEvent[] = [];
  for (const r of revisions) {
    try {
      const before = await at(r - 1);
      const after = await at(r);
      events.push(...changesBetween(before, after, r));
      done.push(r);
    } catch {
      break; // what is not read stays unknown: the check says so, it does not guess
    }
  }
  return { revisions: done, events };
}
