import type { Etcd3 } from 'etcd3';
import pRetry from 'p-retry';
import { BadInputError, ClusterError, LabTimeoutError } from '../errors.ts';
import { sweepLeftovers } from '../host/cleanup.ts';
import type { HostReport } from '../host/prepare-host.ts';
import { demuxDockerLogs } from '../host/one-shot.ts';
import { sleep } from '../util/clock.ts';
import { createEtcdClient, type ClientOptions } from './clients.ts';
import type { MemberLauncher } from './member-launcher.ts';
import type { EtcdMember } from './etcd-member.ts';
import { effectivePreVote, type EtcdOptions } from './etcd-options.ts';
import { countReadyLines, waitForReadyLogLine } from './member-ready-wait.ts';

export type MemberRef = EtcdMember | string;

/** One member's answer to a status call (or why it gave none). */
export type MemberStatus =
  | {
      readonly member: string;
      readonly ok: true;
      readonly memberId: string;
      /** "0" when the member knows of no leader. */
      readonly leaderId: string;
      readonly raftTerm: number;
      readonly raftIndex: number;
      readonly raftAppliedIndex: number;
      readonly isLearner: boolean;
      readonly errors: readonly string[];
    }
  | { readonly member: string; readonly ok: false; readonly error: string };

export interface StableLeader {
  readonly leader: EtcdMember;
  readonly term: number;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  /** Only these members need to agree (e.g. the majority side of a partition). Default: all running members. */
  readonly members?: readonly MemberRef[];
  /** Poll interval. Default 50 ms. */
  readonly pollMs?: number;
}

/** A JSON line from a member's log. etcd 3.4+ with zap writes `level`, `ts`, `msg` and fields. */
export interface EtcdLogEntry {
  readonly level?: string;
  /** Wall-clock milliseconds. */
  readonly tsMs: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** Returned by `EtcdCluster.start()`; dispose it (or `await using`) to remove everything. */
export class StartedEtcdCluster implements AsyncDisposable {
  private readonly clients = new Set<Etcd3>();
  private readonly statusClients = new Map<string, Etcd3>();
  private disposed = false;

  /** @internal created by `EtcdCluster.start()` */
  constructor(
    readonly runId: string,
    readonly host: HostReport,
    private readonly launcher: MemberLauncher,
    private readonly memberList: EtcdMember[],
    readonly etcdOptions: EtcdOptions,
    private readonly unregisterCleanup: () => void,
  ) {}

  /** Members in the cluster now (removed ones are dropped; stopped ones stay). */
  get members(): readonly EtcdMember[] {
    return this.memberList.filter((m) => m.state !== 'removed');
  }

  get networkName(): string {
    return this.launcher.networkName;
  }

  /** What produced this cluster, for results: image, etcd version, effective settings. */
  describe(): Record<string, unknown> {
    const version = this.launcher.version;
    return {
      runId: this.runId,
      members: this.members.length,
      requestedImage: this.host.image.requested,
      image: this.host.image.image,
      imageId: this.host.image.imageId,
      imageSource: this.host.image.source,
      etcdVersion: this.host.image.etcdVersion,
      dataDir: this.launcher.dataDir,
      heartbeatMs: this.etcdOptions.heartbeatMs ?? 100,
      electionTimeoutMs: this.etcdOptions.electionTimeoutMs ?? 1000,
      preVote: effectivePreVote(this.etcdOptions, version),
      etcdOptions: this.etcdOptions,
      /** etcd member ID (decimal, as status and the tracker report it) → member name. */
      memberNames: Object.fromEntries(this.memberList.map((m) => [m.memberId, m.name])),
    };
  }

  member(ref: MemberRef): EtcdMember {
    if (typeof ref !== 'string') return ref;
    const found = this.memberList.find((m) => m.name === ref && m.state !== 'removed');
    if (!found) {
      throw new BadInputError(
        `no member "${ref}" in this cluster (members: ${this.members.map((m) => m.name).join(', ')})`,
      );
    }
    return found;
  }

  memberById(memberId: string): EtcdMember | undefined {
    return this.members.find((m) => m.memberId === memberId);
  }

  // ---------------------------------------------------------------- clients

  /** A client for the whole cluster (all members' endpoints). Closed when the cluster is disposed. */
  client(options: ClientOptions = {}): Etcd3 {
    return this.track(
      createEtcdClient(
        this.members.map((m) => m.clientEndpoint),
        options,
      ),
    );
  }

  /** A client that talks to one member only. */
  memberClient(ref: MemberRef, options: ClientOptions = {}): Etcd3 {
    return this.track(createEtcdClient([this.member(ref).clientEndpoint], options));
  }

  private track(client: Etcd3): Etcd3 {
    this.clients.add(client);
    return client;
  }

  // ---------------------------------------------------------------- observation

  /** Status of one member, with a short deadline: a paused or partitioned member answers "not ok". */
  async memberStatus(ref: MemberRef, timeoutMs = 1_000): Promise<MemberStatus> {
    const member = this.member(ref);
    if (!member.isUp) return { member: member.name, ok: false, error: member.state };
    let client = this.statusClients.get(member.name);
    if (!client) {
      client = this.track(
        createEtcdClient([member.clientEndpoint], { callTimeoutMs: timeoutMs, dialTimeoutMs: timeoutMs }),
      );
      this.statusClients.set(member.name, client);
    }
    try {
      const status = await client.maintenance.status({ deadline: Date.now() + timeoutMs });
      return {
        member: member.name,
        ok: true,
        memberId: status.header.member_id,
        leaderId: status.leader,
        raftTerm: Number(status.raftTerm),
        raftIndex: Number(status.raftIndex),
        raftAppliedIndex: Number(status.raftAppliedIndex),
        isLearner: status.isLearner,
        errors: status.errors ?? [],
      };
    } catch (error) {
      return { member: member.name, ok: false, error: (error as Error).message };
    }
  }

  async status(timeoutMs = 1_000): Promise<MemberStatus[]> {
    return Promise.all(this.members.map((m) => this.memberStatus(m, timeoutMs)));
  }

  /**
   * Waits until every member in scope answers, all name the same leader (one of them) in the
   * same term, on two polls in a row. Returns that leader.
   */
  async waitForStableLeader(options: WaitOptions = {}): Promise<StableLeader> {
    const { timeoutMs = 30_000, pollMs = 50 } = options;
    const deadline = Date.now() + timeoutMs;
    let previous: string | undefined;
    let last: MemberStatus[] = [];
    for (;;) {
      const scope = options.members?.map((m) => this.member(m)) ?? this.members.filter((m) => m.isUp);
      last = await Promise.all(scope.map((m) => this.memberStatus(m, Math.min(1_000, timeoutMs))));
      const agreed = agreement(last);
      const leader = agreed && this.memberById(agreed.leaderId);
      if (agreed && leader && scope.includes(leader)) {
        const key = `${agreed.leaderId}@${agreed.term}`;
        if (key === previous) return { leader, term: agreed.term };
        previous = key;
      } else {
        previous = undefined;
      }
      if (Date.now() > deadline) {
        throw new LabTimeoutError(
          `no stable leader within ${timeoutMs} ms; last statuses: ${JSON.stringify(last.map(summary))}`,
        );
      }
      await sleep(pollMs);
    }
  }

  /** The member every running member agrees is leader (waits for agreement). */
  async leader(options: WaitOptions = {}): Promise<EtcdMember> {
    return (await this.waitForStableLeader(options)).leader;
  }

  async followers(options: WaitOptions = {}): Promise<EtcdMember[]> {
    const leader = await this.leader(options);
    return this.members.filter((m) => m !== leader);
  }

  /** Waits until all running members have applied the same raft index (caught up). */
  async waitForConvergence(options: WaitOptions = {}): Promise<number> {
    const { timeoutMs = 30_000, pollMs = 50 } = options;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const scope = options.members?.map((m) => this.member(m)) ?? this.members.filter((m) => m.isUp);
      const statuses = await Promise.all(scope.map((m) => this.memberStatus(m)));
      const applied = statuses.map((s) => (s.ok ? s.raftAppliedIndex : -1));
      const first = applied[0];
      if (first !== undefined && first >= 0 && applied.every((index) => index === first)) return first;
      if (Date.now() > deadline) {
        throw new LabTimeoutError(
          `members did not converge within ${timeoutMs} ms: ${JSON.stringify(statuses.map(summary))}`,
        );
      }
      await sleep(pollMs);
    }
  }

  /** The member's log as text (all of its container's starts). */
  async logs(ref: MemberRef): Promise<string> {
    const member = this.member(ref);
    return demuxDockerLogs(await member.container.logs({ stdout: true, stderr: true, follow: false }));
  }

  /** The member's JSON log lines, parsed; non-JSON lines are skipped. */
  async logEntries(ref: MemberRef): Promise<EtcdLogEntry[]> {
    return parseEtcdLog(await this.logs(ref));
  }

  /** etcd's Prometheus metrics from the member's client port, as text. */
  async metrics(ref: MemberRef, timeoutMs = 2_000): Promise<string> {
    const response = await fetch(`${this.member(ref).clientEndpoint}/metrics`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new ClusterError(`metrics of ${this.member(ref).name}: HTTP ${response.status}`);
    return response.text();
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Graceful stop: SIGTERM, then SIGKILL after `graceSeconds`. A stopping etcd leader first
   * hands leadership to a follower, so this is a different fault from {@link kill}.
   * Returns whether etcd exited by itself (exit code 0) within the grace period.
   */
  async stop(ref: MemberRef, graceSeconds = 10): Promise<{ exitedCleanly: boolean; exitCode: number }> {
    const member = this.runningMember(ref, 'stop');
    await member.container.stop({ t: graceSeconds });
    member.state = 'stopped';
    member.pid = 0;
    const exitCode = (await member.container.inspect()).State.ExitCode;
    return { exitedCleanly: exitCode === 0, exitCode };
  }

  /**
   * SIGKILL: the process dies with no chance to hand over leadership or flush anything.
   * Resolves once the container has exited, with the `performance.now()` time the signal was
   * sent, which is when the fault took effect; `onSignalled` hears of that time at once,
   * before Docker's teardown of the container (which can take hundreds of ms).
   */
  async kill(
    ref: MemberRef,
    options: { readonly onSignalled?: (signalledAt: number) => void } = {},
  ): Promise<{ signalledAt: number }> {
    const member = this.member(ref);
    if (member.state === 'paused') await member.container.unpause(); // a frozen cgroup cannot be killed cleanly
    if (member.state === 'stopped') throw new BadInputError(`member ${member.name} is not running`);
    // Docker's kill API returns only after the container is fully torn down (hundreds of ms
    // under load), so signal the host PID directly when we may and time that instead.
    let signalledAt: number;
    try {
      process.kill(member.pid, 'SIGKILL');
      signalledAt = performance.now();
    } catch {
      await member.container.kill({ signal: 'SIGKILL' });
      signalledAt = performance.now();
    }
    options.onSignalled?.(signalledAt);
    await member.container.wait();
    member.state = 'stopped';
    member.pid = 0;
    return { signalledAt };
  }

  /**
   * Starts a stopped member again with its data. By default waits until it serves clients,
   * which needs a quorum; pass waitReady: false when restarting members of a cluster that has
   * none, then wait for a leader.
   */
  async start(ref: MemberRef, options: { waitReady?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const member = this.member(ref);
    if (member.state !== 'stopped')
      throw new BadInputError(`member ${member.name} is ${member.state}, not stopped`);
    const readyBefore = countReadyLines(await this.logs(member));
    await member.container.start();
    member.state = 'running';
    await member.refreshRuntime(this.networkName);
    if (options.waitReady ?? true) {
      await waitForReadyLogLine(member.container, member.name, options.timeoutMs ?? 60_000, readyBefore);
    }
  }

  async restart(ref: MemberRef, graceSeconds = 10): Promise<void> {
    await this.stop(ref, graceSeconds);
    await this.start(ref);
  }

  /** Freezes the member's cgroup: the process is alive but gets no CPU (like a long GC pause or a hung VM). */
  async pause(ref: MemberRef): Promise<{ frozenAt: number }> {
    const member = this.runningMember(ref, 'pause');
    await member.container.pause();
    member.state = 'paused';
    return { frozenAt: performance.now() };
  }

  async unpause(ref: MemberRef): Promise<void> {
    const member = this.member(ref);
    if (member.state !== 'paused') throw new BadInputError(`member ${member.name} is not paused`);
    await member.container.unpause();
    member.state = 'running';
  }

  /** SIGSTOP/SIGCONT: like pause, but through the process's own signal state rather than the cgroup. */
  async signalStop(ref: MemberRef): Promise<void> {
    const member = this.runningMember(ref, 'SIGSTOP');
    await member.container.kill({ signal: 'SIGSTOP' });
    member.state = 'signal-stopped';
  }

  async signalContinue(ref: MemberRef): Promise<void> {
    const member = this.member(ref);
    if (member.state !== 'signal-stopped') throw new BadInputError(`member ${member.name} is not SIGSTOPped`);
    await member.container.kill({ signal: 'SIGCONT' });
    member.state = 'running';
  }

  private runningMember(ref: MemberRef, action: string): EtcdMember {
    const member = this.member(ref);
    if (member.state !== 'running') {
      throw new BadInputError(`cannot ${action} member ${member.name}: it is ${member.state}`);
    }
    return member;
  }

  // ---------------------------------------------------------------- membership

  /** Removes a member from the cluster (etcd member remove) and deletes its container. */
  async removeMember(ref: MemberRef): Promise<void> {
    const member = this.member(ref);
    const others = this.members.filter((m) => m !== member && m.isUp);
    if (others.length === 0) throw new BadInputError('cannot remove the last running member');
    const client = this.track(createEtcdClient(others.map((m) => m.clientEndpoint)));
    await retryWhileUnhealthy(() => client.cluster.memberRemove({ ID: member.memberId }));
    await member.container.remove({ force: true });
    member.state = 'removed';
    member.pid = 0;
  }

  /** Adds a fresh member (etcd member add, then start it with --initial-cluster-state=existing). */
  async addMember(): Promise<EtcdMember> {
    const used = this.memberList.map((m) => Number(m.name.slice(1)));
    const name = `m${Math.max(0, ...used) + 1}`;
    const peerUrl = `http://${this.launcher.containerName(name)}:2380`;
    const running = this.members.filter((m) => m.isUp);
    const client = this.track(createEtcdClient(running.map((m) => m.clientEndpoint)));
    await retryWhileUnhealthy(() => client.cluster.memberAdd({ peerURLs: [peerUrl] }));
    const initialCluster = [...this.members.map((m) => `${m.name}=${m.peerUrl}`), `${name}=${peerUrl}`].join(
      ',',
    );
    const member = await this.launcher.launch(name, initialCluster, 'existing');
    this.memberList.push(member);
    await this.identify(member);
    return member;
  }

  /** @internal reads each member's etcd member ID once it serves. */
  async identifyMembers(): Promise<void> {
    await Promise.all(this.members.map((m) => this.identify(m)));
  }

  private async identify(member: EtcdMember): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const status = await this.memberStatus(member, 2_000);
      if (status.ok) {
        member.memberId = status.memberId;
        return;
      }
      if (Date.now() > deadline)
        throw new ClusterError(`member ${member.name} never answered status: ${status.error}`);
      await sleep(100);
    }
  }

  // ---------------------------------------------------------------- teardown

  /** Closes this process's clients but leaves the cluster running (for a persistent cluster). */
  detach(): void {
    for (const client of this.clients) client.close();
    this.clients.clear();
    this.statusClients.clear();
    this.unregisterCleanup();
  }

  /** Closes clients and removes every container, network, volume and data dir of this cluster. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const client of this.clients) client.close();
    this.clients.clear();
    this.statusClients.clear();
    await sweepLeftovers({ runId: this.runId });
    this.unregisterCleanup();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/**
 * etcd refuses membership changes ("unhealthy cluster") until enough members have been
 * connected to the leader for its health interval (5 s), e.g. just after a restart. That is
 * a precondition to wait out, not a failure.
 */
function retryWhileUnhealthy<T>(change: () => Promise<T>): Promise<T> {
  return pRetry(change, {
    retries: 30,
    minTimeout: 250,
    maxTimeout: 1_000,
    maxRetryTime: 20_000,
    shouldRetry: ({ error }) => /unhealthy cluster/.test(error.message),
  });
}

function agreement(statuses: readonly MemberStatus[]): { leaderId: string; term: number } | undefined {
  const first = statuses[0];
  if (!first?.ok || first.leaderId === '0') return undefined;
  for (const s of statuses) {
    if (!s.ok || s.leaderId !== first.leaderId || s.raftTerm !== first.raftTerm) return undefined;
  }
  return { leaderId: first.leaderId, term: first.raftTerm };
}

const summary = (s: MemberStatus) =>
  s.ok ? { member: s.member, leader: s.leaderId, term: s.raftTerm, applied: s.raftAppliedIndex } : s;

/** Parses etcd's zap JSON log lines; `ts` is ISO-8601 (3.5+) or epoch seconds (some 3.4 builds). */
export function parseEtcdLog(text: string): EtcdLogEntry[] {
  const entries: EtcdLogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const raw = JSON.parse(line) as Record<string, unknown>;
      const ts = raw.ts;
      const tsMs = typeof ts === 'number' ? ts * 1000 : typeof ts === 'string' ? Date.parse(ts) : NaN;
      if (Number.isNaN(tsMs) || typeof raw.msg !== 'string') continue;
      entries.push({ ...raw, tsMs, msg: raw.msg });
    } catch {
      // a partial line at the end of a live log
    }
  }
  return entries;
}
