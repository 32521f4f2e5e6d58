import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Campaign, Etcd3, Lease } from 'etcd3';
import type { Tenure } from './tenures.ts';

export interface LeaderWorkerOptions {
  /** A client of this instance's own (in production: its etcd endpoints). */
  readonly client: Etcd3;
  readonly id: string;
  /** The election all instances of the pool campaign in. Default "job". */
  readonly election?: string;
  /** TTL of the campaign's lease, in seconds: how long a crashed holder blocks the job. */
  readonly leaseTtlSeconds: number;
  /**
   * Stop working this long before the lease could have expired in etcd (default: a quarter of the
   * TTL): the margin for this process's timers to be late. See `fencing`.
   */
  readonly fenceMarginMs?: number;
  /**
   * true (default): stop at the instance's own deadline — the send time of the last keepalive
   * etcd acknowledged plus the TTL, minus the margin. etcd counts the TTL from when it received
   * that keepalive, which is later, so the instance stops before any other can be elected, even
   * when it cannot reach etcd at all. false: stop only when etcd3 reports the lease lost, which it
   * does up to 2 × TTL after the last keepalive — by then another instance may have been working
   * for a while. Only there to show what the tests catch.
   */
  readonly fencing?: boolean;
  /** The job: called every `tickMs` while this instance is the active one. */
  readonly onTick?: (id: string) => void;
  /** Default 50 ms; also how often the deadline is checked. */
  readonly tickMs?: number;
}

type EndReason = 'lease-lost' | 'stopped' | 'fenced';

/**
 * One instance of a pool in which exactly one instance runs a job: it campaigns in an etcd election
 * (etcd3's election API; the campaign holds a lease), runs the job while elected, and campaigns
 * again when it loses. Every time it was active is recorded in `tenures`.
 */
export class LeaderWorker implements AsyncDisposable {
  readonly tenures: Tenure[] = [];
  private readonly stopping = new AbortController();
  private readonly stopped = new Promise<'stopped'>((resolve) =>
    this.stopping.signal.addEventListener('abort', () => resolve('stopped'), { once: true }),
  );
  private running: Promise<void> | undefined;

  constructor(private readonly options: LeaderWorkerOptions) {}

  get id(): string {
    return this.options.id;
  }

  /** True while this instance runs the job. */
  get active(): boolean {
    return this.tenures.at(-1)?.endMs === null;
  }

  start(): this {
    this.running ??= this.run();
    return this;
  }

  /** Stops working, resigns (bounded by the TTL: etcd may be unreachable) and stops campaigning. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        await this.serveOneTerm();
      } catch {
        // etcd unreachable, lease refused…: campaign again.
      }
      await sleep(100, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }

  private async serveOneTerm(): Promise<void> {
    const ttlMs = this.options.leaseTtlSeconds * 1_000;
    const marginMs = this.options.fenceMarginMs ?? ttlMs / 4;
    const fencing = this.options.fencing ?? true;
    // Before the campaign grants its lease: etcd's TTL starts later than this.
    let lastAckedSendMs = performance.now();
    const campaign = this.options.client
      .election(this.options.election ?? 'job', this.options.leaseTtlSeconds)
      .campaign(this.options.id);
    // etcd3 keeps the campaign's lease private, but the deadline needs its keepalive events. The
    // keepalive stream answers in order, so each acknowledgement belongs to the oldest send.
    const lease = (campaign as unknown as { lease: Lease }).lease;
    const sent: number[] = [];
    lease.on('keepaliveEstablished', () => (sent.length = 0));
    lease.on('keepaliveFired', () => sent.push(performance.now()));
    lease.on('keepaliveSucceeded', () => {
      const at = sent.shift();
      if (at !== undefined) lastAckedSendMs = at;
    });
    const deadlineMs = (): number => lastAckedSendMs + ttlMs - marginMs;

    const leaseLost = new Promise<'lease-lost'>((resolve) =>
      campaign.on('error', () => resolve('lease-lost')),
    );
    const ended: Promise<EndReason> = Promise.race([leaseLost, this.stopped]);
    const elected = new Promise<'elected'>((resolve) => campaign.on('elected', () => resolve('elected')));
    const first = await Promise.race([elected, ended]);
    if (first !== 'elected' || (fencing && performance.now() >= deadlineMs())) {
      await this.resign(campaign, ttlMs);
      return;
    }

    const tenure: Tenure = {
      worker: this.options.id,
      startMs: performance.now(),
      endMs: null,
      endedBy: null,
    };
    this.tenures.push(tenure);
    let timer: NodeJS.Timeout | undefined;
    const fenced = new Promise<EndReason>((resolve) => {
      timer = setInterval(() => {
        if (fencing && performance.now() >= deadlineMs()) resolve('fenced');
        else this.options.onTick?.(this.options.id);
      }, this.options.tickMs ?? 50);
    });
    const reason = await Promise.race([ended, fenced]);
    clearInterval(timer);
    tenure.endMs = performance.now();
    tenure.endedBy = reason;
    await this.resign(campaign, ttlMs);
  }

  /** Gives the job up at once where etcd is reachable; otherwise the lease expires on its own. */
  private async resign(campaign: Campaign, ttlMs: number): Promise<void> {
    await Promise.race([campaign.resign().catch(() => undefined), sleep(ttlMs)]);
  }
}
