import type { Etcd3, IEvent, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import type { KvEvent, KvSnapshot, WatcherHistory, WatchResponse } from '../checks/watch/types.ts';
import type { RunClock } from '../util/clock.ts';

/**
 * Watchers on a key prefix through etcd3's watch API, every response recorded on the run's
 * clock as the watch checker (src/checks/watch/) reads it. Jepsen's recording client, for
 * streams: the recorder does not judge, it writes down what arrived and when.
 *
 * What etcd3 1.1.2 does (node_modules/etcd3/lib/watch.js), and so what is recorded:
 * - One WatchManager per Etcd3 client: every watcher of one client shares one gRPC stream.
 *   `sharedStreams` puts watchers two by two on one client; otherwise each has its own.
 * - The builder always asks for `progress_notify: true`; `progressNotify: false` clears it in the
 *   request. etcd sends progress notifications only every 10 minutes by default
 *   (--experimental-watch-progress-notify-interval), so a short run sees none.
 * - On a stream error or end the manager emits 'disconnected' to every watcher, waits its
 *   backoff, opens a new stream on a host picked at random from the client's endpoints, and
 *   re-sends each watcher's create request, emitting 'connecting' with that very request object
 *   just before writing it. So the resume revision is known exactly: the request's
 *   `start_revision` at that 'connecting'. A 'connecting' after the first is recorded as a
 *   `reconnect` response with that `resumeRevision`.
 * - Where that revision comes from: the library sets `start_revision = header.revision + 1` on
 *   every 'data' response AND on every 'connected' (created) response. The created response of a
 *   watch that must still catch up carries the store's current revision, above the events still
 *   to come; a stream that breaks after it and before the catch-up arrives resumes past them.
 *   The checker blames that on the client library (the resume is above the last revision the
 *   watcher was told about by events or progress).
 * - A cancel by the server ('canceled' response, compaction included) reaches the application
 *   only as an 'error' event with the reason in its message; the compact revision is lost, so
 *   it is recorded as `canceled`. The lab does not compact during a run.
 * The lab's clients put call deadlines on streams too (src/cluster/clients.ts); the recorder's
 * clients do not, or every watch would end and reconnect each `callTimeoutMs`.
 */

export interface WatchRecorderOptions {
  /** Keys watched: everything under this prefix. */
  readonly prefix: string;
  readonly count: number;
  /** Watchers two by two on one client (one gRPC stream); an odd last one has its own. */
  readonly sharedStreams: boolean;
  /** 'spread': client k talks only to member k mod n; 'cluster': every endpoint, etcd3 picks. */
  readonly connectTo: 'spread' | 'cluster';
  /** First revision to deliver, or 'now'. */
  readonly startRevision: number | 'now';
  readonly progressNotify: boolean;
  readonly prevKv: boolean;
  readonly clock: RunClock;
}

/** A watcher as planned: its id, its client, and where the client connects. */
export interface PlannedWatcher {
  readonly id: string;
  readonly client: string;
  /** A member's name, or 'cluster'. */
  readonly endpoints: string;
}

/** A recorded watcher: the checker's input plus what the recorder saw of its connection. */
export interface RecordedWatcher extends WatcherHistory {
  readonly client: string;
  readonly endpoints: string;
  /** The member that answered each create (header.member_id mapped to a name where known). */
  readonly connections: readonly { readonly atMs: number; readonly member: string }[];
  readonly disconnects: readonly { readonly atMs: number; readonly error: string }[];
}

/** Which client each watcher uses (pure). */
export function planWatchers(
  count: number,
  memberNames: readonly string[],
  options: { readonly sharedStreams: boolean; readonly connectTo: 'spread' | 'cluster' },
): PlannedWatcher[] {
  return Array.from({ length: count }, (_, i) => {
    const k = options.sharedStreams ? Math.floor(i / 2) : i;
    const endpoints =
      options.connectTo === 'cluster' ? 'cluster' : (memberNames[k % memberNames.length] ?? 'cluster');
    return { id: `w${i}`, client: `wc${k}`, endpoints };
  });
}

const num = (v: string | number | undefined): number => Number(v ?? 0);

function snapshotOf(kv: IKeyValue): KvSnapshot {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: num(kv.create_revision),
    modRevision: num(kv.mod_revision),
    version: num(kv.version),
  };
}

/** One etcd3 event as the checker's KvEvent (pure). `prevKv` only when the watch asked for it. */
export function kvEventOf(ev: IEvent, withPrevKv: boolean): KvEvent {
  const kv = ev.kv;
  const type = ev.type === 'Delete' ? 'delete' : 'put';
  const prev = withPrevKv ? { prevKv: ev.prev_kv ? snapshotOf(ev.prev_kv) : null } : {};
  return {
    revision: num(kv.mod_revision),
    key: kv.key.toString(),
    type,
    ...(type === 'put'
      ? { value: kv.value.toString(), createRevision: num(kv.create_revision), version: num(kv.version) }
      : {}),
    ...prev,
  };
}

/**
 * A 'data' response as the checker's response (pure): events, or — no events, not created,
 * not cancelled — a progress notification at its header revision.
 */
export function responseOf(res: IWatchResponse, atMs: number, withPrevKv: boolean): WatchResponse {
  const revision = num(res.header.revision);
  if (res.created) return { type: 'created', atMs, revision };
  if (res.canceled) {
    const compacted = num(res.compact_revision);
    return compacted > 0
      ? { type: 'compacted', atMs, compactRevision: compacted }
      : { type: 'canceled', atMs, reason: res.cancel_reason };
  }
  if (res.events.length === 0) return { type: 'progress', atMs, revision };
  return { type: 'events', atMs, revision, events: res.events.map((e) => kvEventOf(e, withPrevKv)) };
}

/** The highest revision a watcher has been told about (events, progress), or null. */
export function coveredRevision(responses: readonly WatchResponse[]): number | null {
  let covered: number | null = null;
  for (const r of responses) {
    const rev =
      r.type === 'progress'
        ? r.revision
        : r.type === 'events'
          ? r.events[r.events.length - 1]?.revision
          : undefined;
    if (rev !== undefined) covered = Math.max(covered ?? rev, rev);
  }
  return covered;
}

interface Live {
  readonly plan: PlannedWatcher;
  readonly watcher: Watcher;
  readonly responses: WatchResponse[];
  readonly connections: { atMs: number; member: string }[];
  readonly disconnects: { atMs: number; error: string }[];
}

/** Started watchers; `stop` ends them and returns what each received. */
export class WatchRecorder {
  private constructor(
    private readonly options: WatchRecorderOptions,
    private readonly live: readonly Live[],
    private readonly clients: readonly Etcd3[],
  ) {}

  /** Opens every watcher and waits until each is created (the cluster must be healthy). */
  static async start(cluster: StartedEtcdCluster, options: WatchRecorderOptions): Promise<WatchRecorder> {
    const names = cluster.members.map((m) => m.name);
    const memberName = new Map(cluster.members.map((m) => [m.memberId, m.name]));
    const plans = planWatchers(options.count, names, options);
    const clients = new Map<string, Etcd3>();
    const clientOptions = { deadlineOnStreams: false, callTimeoutMs: 5_000 } as const;
    const live: Live[] = [];
    for (const plan of plans) {
      let client = clients.get(plan.client);
      if (!client) {
        client =
          plan.endpoints === 'cluster'
            ? cluster.client(clientOptions)
            : cluster.memberClient(plan.endpoints, clientOptions);
        clients.set(plan.client, client);
      }
      let builder = client.watch().prefix(options.prefix);
      if (options.startRevision !== 'now') builder = builder.startRevision(String(options.startRevision));
      if (options.prevKv) builder = builder.withPreviousKV();
      if (!options.progressNotify)
        (builder as unknown as { request: { progress_notify?: boolean } }).request.progress_notify = false;
      // watcher() attaches at once: listeners are on before the created response can arrive.
      const watcher = builder.watcher();
      const entry: Live = { plan, watcher, responses: [], connections: [], disconnects: [] };
      let connectings = 0;
      const now = (): number => options.clock.now();
      watcher.on('connecting', (request) => {
        connectings += 1;
        if (connectings === 1) return;
        const start = (request as { start_revision?: string | number }).start_revision;
        entry.responses.push({
          type: 'reconnect',
          atMs: now(),
          ...(start === undefined ? {} : { resumeRevision: Number(start) }),
        });
      });
      watcher.on('connected', (res) => {
        const at = now();
        entry.responses.push(responseOf(res, at, options.prevKv));
        entry.connections.push({
          atMs: at,
          member: memberName.get(res.header.member_id) ?? res.header.member_id,
        });
      });
      watcher.on('data', (res) => entry.responses.push(responseOf(res, now(), options.prevKv)));
      watcher.on('disconnected', (error) => entry.disconnects.push({ atMs: now(), error: error.message }));
      watcher.on('error', (error) =>
        entry.responses.push({ type: 'canceled', atMs: now(), reason: error.message }),
      );
      live.push(entry);
    }
    await Promise.all(
      live.map(
        (l) =>
          new Promise<void>((resolve, reject) => {
            if (l.connections.length > 0) resolve();
            l.watcher.once('connected', () => resolve());
            l.watcher.once('error', reject);
          }),
      ),
    );
    return new WatchRecorder(options, live, [...clients.values()]);
  }

  /**
   * Waits until every watcher has been told about `untilRevision` (or `timeoutMs` passed), then
   * cancels the watchers, closes their clients and returns the histories.
   */
  async stop(untilRevision: number | null, timeoutMs = 10_000): Promise<RecordedWatcher[]> {
    const deadline = Date.now() + timeoutMs;
    while (
      untilRevision !== null &&
      Date.now() < deadline &&
      this.live.some((l) => (coveredRevision(l.responses) ?? -1) < untilRevision)
    )
      await new Promise((resolve) => setTimeout(resolve, 50));
    const histories = this.histories();
    await Promise.all(
      this.live.map((l) =>
        Promise.race([l.watcher.cancel(), new Promise((resolve) => setTimeout(resolve, 2_000))]).catch(
          () => undefined,
        ),
      ),
    );
    for (const client of this.clients) client.close();
    return histories;
  }

  /** What each watcher received so far (copies). */
  histories(): RecordedWatcher[] {
    const o = this.options;
    return this.live.map((l) => ({
      id: l.plan.id,
      request: {
        range: { key: o.prefix, prefix: true },
        startRevision: o.startRevision,
        progressNotify: o.progressNotify,
        prevKv: o.prevKv,
      },
      responses: [...l.responses],
      client: l.plan.client,
      endpoints: l.plan.endpoints,
      connections: [...l.connections],
      disconnects: [...l.disconnects],
    }));
  }
}
