import type { Etcd3 } from 'etcd3';
import { BadInputError, ClusterError } from '../errors.ts';
import { sweepLeftovers } from '../host/cleanup.ts';
import type { ResolvedEtcdImage } from '../host/etcd-image.ts';
import type { EtcdImageProvenance } from '../host/images/provenance.ts';
import type { HostReport } from '../host/prepare-host.ts';
import { sleep } from '../util/clock.ts';
import { steadyWall } from '../util/wall-clock-steps.ts';
import { ClusterClients } from './cluster-clients.ts';
import type { ClientOptions } from './clients.ts';
import { parseEtcdLog, readMemberLog, type EtcdLogEntry } from './etcd-log.ts';
import type { EtcdMember, MemberRef } from './etcd-member.ts';
import { effectivePreVote, resolveEtcdOptions, type EtcdOptions } from './etcd-options.ts';
import type { DataDirKind, MemberLauncher } from './member-launcher.ts';
import {
  killMember,
  pauseMember,
  signalContinueMember,
  signalStopMember,
  startMember,
  stopMember,
  unpauseMember,
} from './member-process.ts';
import {
  queryMemberStatus,
  waitForConvergence,
  waitForStableLeader,
  type MemberStatus,
  type StableLeader,
  type WaitOptions,
} from './member-status.ts';
import { addMember, removeMember } from './membership.ts';

// The handle's concerns live in their own files; it delegates to them and keeps one API.
export type { MemberRef } from './etcd-member.ts';
export { parseEtcdLog, type EtcdLogEntry } from './etcd-log.ts';
export type { MemberStatus, StableLeader, WaitOptions } from './member-status.ts';

/**
 * What produced a cluster, for results: image, etcd version, effective settings. A type alias
 * (not an interface) so that it is also a plain `Record<string, unknown>` where results want one.
 */
export type ClusterDescription = {
  readonly runId: string;
  readonly members: number;
  readonly requestedImage: string;
  readonly image: string;
  readonly imageId: string;
  readonly imageSource: ResolvedEtcdImage['source'];
  readonly etcdVersion: string;
  /** Requested and actual version, where the image came from, Debian packages (src/host/images/provenance.ts). */
  readonly etcdProvenance: EtcdImageProvenance;
  readonly dataDir: DataDirKind;
  /** etcd's default where the options leave it unset. */
  readonly heartbeatMs: number;
  readonly electionTimeoutMs: number;
  /** What etcd runs with: the option, or the version's default. */
  readonly preVote: boolean;
  /** The options as given. */
  readonly etcdOptions: EtcdOptions;
  /** etcd member ID (decimal, as status and the tracker report it) → member name. */
  readonly memberNames: Readonly<Record<string, string>>;
};

/**
 * Returned by `EtcdCluster.start()`; dispose it (or `await using`) to remove everything. The
 * handle's parts: clients (cluster-clients.ts), status and waits (member-status.ts), logs
 * (etcd-log.ts), process control (member-process.ts) and membership changes (membership.ts).
 */
export class StartedEtcdCluster implements AsyncDisposable {
  private readonly clients = new ClusterClients();
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
  describe(): ClusterDescription {
    const resolved = resolveEtcdOptions(this.etcdOptions);
    return {
      runId: this.runId,
      members: this.members.length,
      requestedImage: this.host.image.requested,
      image: this.host.image.image,
      imageId: this.host.image.imageId,
      imageSource: this.host.image.source,
      etcdVersion: this.host.image.etcdVersion,
      etcdProvenance: this.host.image.provenance,
      dataDir: this.launcher.dataDir,
      heartbeatMs: resolved.heartbeatMs,
      electionTimeoutMs: resolved.electionTimeoutMs,
      preVote: effectivePreVote(this.etcdOptions, this.launcher.version),
      etcdOptions: this.etcdOptions,
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
    return this.clients.create(
      this.members.map((m) => m.clientEndpoint),
      options,
    );
  }

  /** A client that talks to one member only. */
  memberClient(ref: MemberRef, options: ClientOptions = {}): Etcd3 {
    return this.clients.create([this.member(ref).clientEndpoint], options);
  }

  // ---------------------------------------------------------------- observation

  /** Status of one member, with a short deadline: a paused or partitioned member answers "not ok". */
  async memberStatus(ref: MemberRef, timeoutMs = 1_000): Promise<MemberStatus> {
    const member = this.member(ref);
    if (!member.isUp) return { member: member.name, ok: false, error: member.state };
    return queryMemberStatus(this.clients.statusClient(member, timeoutMs), member, timeoutMs);
  }

  async status(timeoutMs = 1_000): Promise<MemberStatus[]> {
    return Promise.all(this.members.map((m) => this.memberStatus(m, timeoutMs)));
  }

  /**
   * Waits until every member in scope answers, all name the same leader (one of them) in the
   * same term, on two polls in a row. Returns that leader.
   */
  async waitForStableLeader(options: WaitOptions = {}): Promise<StableLeader> {
    return waitForStableLeader(this, options);
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
    return waitForConvergence(this, options);
  }

  /** The member's log as text (all of its container's starts). */
  async logs(ref: MemberRef): Promise<string> {
    return readMemberLog(this.member(ref));
  }

  /**
   * The member's JSON log lines, parsed; non-JSON lines are skipped. Timestamps are on the
   * steady timeline (src/util/wall-clock-steps.ts), so they line up with RunClock.toWall even
   * when the host's clock stepped during the run.
   */
  async logEntries(ref: MemberRef): Promise<EtcdLogEntry[]> {
    return parseEtcdLog(await this.logs(ref)).map((e) => ({ ...e, tsMs: steadyWall(e.tsMs) }));
  }

  /** etcd's Prometheus metrics from the member's client port, as text. */
  async metrics(ref: MemberRef, timeoutMs = 2_000): Promise<string> {
    const response = await fetch(`${this.member(ref).clientEndpoint}/metrics`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new ClusterError(`metrics of ${this.member(ref).name}: HTTP ${response.status}`);
    return response.text();
  }

  // ---------------------------------------------------------------- process control (member-process.ts)

  /**
   * Graceful stop: SIGTERM, then SIGKILL after `graceSeconds`. A stopping etcd leader first
   * hands leadership to a follower, so this is a different fault from {@link kill}.
   * Returns whether etcd exited by itself (exit code 0) within the grace period.
   */
  async stop(ref: MemberRef, graceSeconds = 10): Promise<{ exitedCleanly: boolean; exitCode: number }> {
    return stopMember(this.member(ref), graceSeconds);
  }

  /**
   * SIGKILL: the process dies with no chance to hand over leadership or flush anything.
   * Resolves once the container has exited, with the `performance.now()` time the signal was
   * sent; `onSignalled` hears of that time at once, before Docker's teardown of the container.
   */
  async kill(
    ref: MemberRef,
    options: { readonly onSignalled?: (signalledAt: number) => void } = {},
  ): Promise<{ signalledAt: number }> {
    return killMember(this.member(ref), options);
  }

  /**
   * Starts a stopped member again with its data. By default waits until it serves clients,
   * which needs a quorum; pass waitReady: false when restarting members of a cluster that has
   * none, then wait for a leader.
   */
  async start(ref: MemberRef, options: { waitReady?: boolean; timeoutMs?: number } = {}): Promise<void> {
    await startMember(this.member(ref), this.networkName, options);
  }

  async restart(ref: MemberRef, graceSeconds = 10): Promise<void> {
    await this.stop(ref, graceSeconds);
    await this.start(ref);
  }

  /** Freezes the member's cgroup: the process is alive but gets no CPU (like a long GC pause or a hung VM). */
  async pause(ref: MemberRef): Promise<{ frozenAt: number }> {
    return pauseMember(this.member(ref));
  }

  async unpause(ref: MemberRef): Promise<void> {
    await unpauseMember(this.member(ref));
  }

  /** SIGSTOP/SIGCONT: like pause, but through the process's own signal state rather than the cgroup. */
  async signalStop(ref: MemberRef): Promise<void> {
    await signalStopMember(this.member(ref));
  }

  async signalContinue(ref: MemberRef): Promise<void> {
    await signalContinueMember(this.member(ref));
  }

  // ---------------------------------------------------------------- membership (membership.ts)

  /** Removes a member from the cluster (etcd member remove) and deletes its container. */
  async removeMember(ref: MemberRef): Promise<void> {
    await removeMember(this.clients, this.member(ref), this.members);
  }

  /** Adds a fresh member (etcd member add, then start it with --initial-cluster-state=existing). */
  async addMember(): Promise<EtcdMember> {
    const member = await addMember(this.clients, this.launcher, this.members, this.memberList);
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
    this.clients.closeAll();
    this.unregisterCleanup();
  }

  /** Closes clients and removes every container, network, volume and data dir of this cluster. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.clients.closeAll();
    await sweepLeftovers({ runId: this.runId });
    this.unregisterCleanup();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
