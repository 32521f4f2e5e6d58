import type { Etcd3 } from 'etcd3';
import type { EtcdMember } from '../cluster/etcd-member.ts';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { sleep, type RunClock } from '../util/clock.ts';

/**
 * Sends a small write every few milliseconds (open loop, not waiting for answers), rotating
 * over the surviving members, and remembers when the first write *sent after the fault*
 * returned successfully. Open loop matters: a single write stuck behind the dead leader
 * would otherwise hide the moment the new leader starts taking writes, and a short deadline
 * to avoid that would, on a loaded machine, time out writes that were about to succeed.
 */
export class WriteProbe {
  firstOkAtMs: number | undefined;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly clients: Etcd3[];
  private static readonly SEND_EVERY_MS = 5;
  private static readonly MAX_IN_FLIGHT = 400;

  constructor(
    cluster: StartedEtcdCluster,
    survivors: readonly EtcdMember[],
    private readonly clock: RunClock,
    electionTimeoutMs: number,
  ) {
    const callTimeoutMs = 2 * electionTimeoutMs + 1_000;
    this.clients = survivors.map((m) => cluster.memberClient(m, { callTimeoutMs }));
  }

  /** Starts sending; only writes sent at or after `countFromMs` can be the first ok one. */
  start(countFromMs: number): void {
    this.loop = (async () => {
      let i = 0;
      while (!this.stopped && this.firstOkAtMs === undefined) {
        const client = this.clients[i++ % this.clients.length];
        if (!client) return;
        if (this.inFlight.size < WriteProbe.MAX_IN_FLIGHT) {
          const sentAt = this.clock.now();
          const write = client
            .put('etcd-lab/election-probe')
            .value(String(sentAt))
            .then(
              () => {
                const returnedAt = this.clock.now();
                if (
                  sentAt >= countFromMs &&
                  (this.firstOkAtMs === undefined || returnedAt < this.firstOkAtMs)
                ) {
                  this.firstOkAtMs = returnedAt;
                }
              },
              () => undefined, // expected while there is no leader
            )
            .finally(() => this.inFlight.delete(write));
          this.inFlight.add(write);
        }
        await sleep(WriteProbe.SEND_EVERY_MS);
      }
    })();
  }

  private drainedClients: Promise<void> | undefined;

  /**
   * Stops sending. Writes still in flight are not waited for: one sent to a follower while there
   * was no leader waits out its whole deadline (2 election timeouts + 1 s), which was most of a
   * fast trial's time. Their clients close once they have settled; {@link drained} says when.
   * Idempotent.
   */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.drainedClients = Promise.allSettled([...this.inFlight]).then(() => {
        for (const client of this.clients) client.close();
      });
    }
    await this.loop;
  }

  /** Resolves once stopped and every write has settled and the clients are closed. */
  async drained(): Promise<void> {
    await this.stop();
    await this.drainedClients;
  }
}
