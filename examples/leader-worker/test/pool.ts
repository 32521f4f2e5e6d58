import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import type { EtcdMember, StartedEtcdCluster } from 'etcd-lab';
import { LeaderWorker, type LeaderWorkerOptions } from '../src/leader-worker.ts';
import { overlapMs, type Tenure } from '../src/tenures.ts';

type PoolOptions = Pick<LeaderWorkerOptions, 'leaseTtlSeconds' | 'fencing' | 'election'>;

/**
 * One worker per member, each with its own client of that member only (so a fault on a member is
 * a fault on the worker connected to it). The worker on `holderMember` starts first and becomes
 * the active one before the others start.
 */
export class Pool implements AsyncDisposable {
  private constructor(
    readonly workers: readonly LeaderWorker[],
    private readonly clients: readonly Etcd3[],
  ) {}

  static async start(
    cluster: StartedEtcdCluster,
    holderMember: EtcdMember,
    options: PoolOptions,
  ): Promise<Pool> {
    const members = [holderMember, ...cluster.members.filter((m) => m !== holderMember)];
    const clients = members.map((member) => new Etcd3({ hosts: member.clientEndpoint }));
    const workers = members.map(
      (member, i) => new LeaderWorker({ ...options, client: clients[i]!, id: `worker-on-${member.name}` }),
    );
    const pool = new Pool(workers, clients);
    workers[0]!.start();
    await waitFor(() => workers[0]!.active, 10_000, 'the first worker to become active');
    for (const worker of workers.slice(1)) worker.start();
    return pool;
  }

  get holder(): LeaderWorker {
    return this.workers[0]!;
  }

  get tenures(): Tenure[] {
    return this.workers.flatMap((worker) => worker.tenures).sort((a, b) => a.startMs - b.startMs);
  }

  /** The first tenure of another worker that started after `afterMs`. */
  async nextTenure(afterMs: number, timeoutMs: number): Promise<Tenure> {
    let found: Tenure | undefined;
    await waitFor(
      () =>
        (found = this.tenures.find((t) => t.startMs > afterMs && t.worker !== this.holder.id)) !== undefined,
      timeoutMs,
      'another worker to become active',
    );
    return found!;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.stop()));
    for (const client of this.clients) client.close();
  }
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** One line per test with what was measured, next to the bound it is held to. */
export function report(fault: string, pool: Pool, faultAtMs: number, next: Tenure, boundMs: number): void {
  const old = pool.holder.tenures[0]!;
  const stoppedMs =
    old.endMs === null ? 'still active' : `${Math.round(old.endMs - faultAtMs)} ms (${old.endedBy})`;
  console.info(
    `${fault}: old holder stopped after ${stoppedMs}, ${next.worker} active after ` +
      `${Math.round(next.startMs - faultAtMs)} ms (bound ${boundMs} ms), overlap ${Math.round(overlapMs(pool.tenures, performance.now()))} ms`,
  );
}
