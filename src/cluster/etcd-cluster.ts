import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GenericContainer } from 'testcontainers';
import { BadInputError, ClusterError } from '../errors.ts';
import { MEMORY_DATA_ROOT, registerCleanup, sweepLeftovers } from '../host/cleanup.ts';
import { docker } from '../host/docker.ts';
import { imageReferenceProblem } from '../host/image-reference.ts';
import type { ResolvedEtcdImage } from '../host/etcd-image.ts';
import { prepareHost, type HostReport } from '../host/prepare-host.ts';
import { LABEL, newRunId, runLabels } from '../host/run-labels.ts';
import { freePort } from '../util/free-port.ts';
import { progress } from '../util/log.ts';
import { EtcdMember } from './etcd-member.ts';
import {
  CLIENT_PORT,
  etcdMemberFlags,
  parseEtcdVersion,
  validateEtcdOptions,
  type EtcdOptions,
  type EtcdVersion,
} from './etcd-options.ts';
import { EtcdMemberReadyWait } from './member-ready-wait.ts';
import { StartedEtcdCluster } from './started-etcd-cluster.ts';

/**
 * Where members keep their data.
 * - `memory`: a directory on the host's /dev/shm, bind-mounted. Fast fsync like tmpfs, and
 *   unlike a container tmpfs mount it survives a member's stop/kill and restart.
 * - `disk`: a Docker volume on the host's disk, for realistic fsync latency.
 */
export type DataDirKind = 'memory' | 'disk';

export const MIN_MEMBERS = 1;
export const MAX_MEMBERS = 7;
/** Where a member's data lives inside its container. etcd wants to create the data dir itself (0700). */
export const DATA_MOUNT = '/var/lib/etcd';

/**
 * A real etcd cluster in containers, testcontainers style:
 *
 *     await using cluster = await new EtcdCluster().withMembers(5).withEtcdOptions({ heartbeatMs: 10, electionTimeoutMs: 100 }).start();
 */
export class EtcdCluster {
  private members = 3;
  private etcdOptions: EtcdOptions = {};
  private image: string | undefined;
  private dataDir: DataDirKind = 'memory';
  private startupTimeoutMs = 60_000;
  private persistent = false;

  /** Number of members, 1–7 (even sizes are allowed: the quorum experiments need them). */
  withMembers(count: number): this {
    this.members = count;
    return this;
  }

  withEtcdOptions(options: EtcdOptions): this {
    this.etcdOptions = { ...this.etcdOptions, ...options };
    return this;
  }

  /** Image to run; default ETCD_IMAGE or the official image (see resolveEtcdImage). */
  withImage(image: string): this {
    this.image = image;
    return this;
  }

  withDataDir(kind: DataDirKind): this {
    this.dataDir = kind;
    return this;
  }

  withStartupTimeout(ms: number): this {
    this.startupTimeoutMs = ms;
    return this;
  }

  /**
   * Keep the cluster after this process exits (for `etcd-lab up`): no sweep removes it, only
   * `etcd-lab down` or `etcd-lab clean --all`.
   */
  withPersistence(): this {
    this.persistent = true;
    return this;
  }

  async start(): Promise<StartedEtcdCluster> {
    // Bad input is refused before anything is created.
    if (!Number.isInteger(this.members) || this.members < MIN_MEMBERS || this.members > MAX_MEMBERS) {
      throw new BadInputError(
        `member count must be an integer from ${MIN_MEMBERS} to ${MAX_MEMBERS}, got ${this.members}`,
      );
    }
    if (this.dataDir !== 'memory' && this.dataDir !== 'disk') {
      throw new BadInputError(`data dir must be "memory" or "disk", got "${String(this.dataDir)}"`);
    }
    validateEtcdOptions(this.etcdOptions);
    const imageProblem = this.image === undefined ? undefined : imageReferenceProblem(this.image);
    if (imageProblem !== undefined) throw new BadInputError(`image: ${imageProblem}`);
    const host = await prepareHost(this.image === undefined ? {} : { image: this.image });
    const version = parseEtcdVersion(host.image.etcdVersion);
    // Version-dependent flags are checked here too, so an unsupported version fails before any container.
    etcdMemberFlags(memberFlagProbe, this.etcdOptions, version);

    const runId = newRunId();
    const labels = runLabels(runId, { persistent: this.persistent });
    const launcher = new MemberLauncher(
      runId,
      labels,
      host,
      version,
      this.etcdOptions,
      this.dataDir,
      this.startupTimeoutMs,
    );
    // A persistent cluster outlives this process, but one that fails mid-start is still removed below.
    const unregister = this.persistent
      ? () => undefined
      : registerCleanup(`cluster ${runId}`, () => sweepLeftovers({ runId }).then(() => undefined));
    const startedAt = performance.now();
    try {
      await launcher.createNetwork();
      const names = Array.from({ length: this.members }, (_, i) => `m${i + 1}`);
      const initialCluster = names
        .map((name) => `${name}=http://${launcher.containerName(name)}:2380`)
        .join(',');
      progress(`starting ${this.members}-member etcd cluster ${runId}…`);
      const members = await Promise.all(names.map((name) => launcher.launch(name, initialCluster, 'new')));
      const cluster = new StartedEtcdCluster(runId, host, launcher, members, this.etcdOptions, unregister);
      await cluster.identifyMembers();
      progress(`cluster ${runId} ready in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
      return cluster;
    } catch (error) {
      unregister();
      await sweepLeftovers({ runId });
      if (error instanceof BadInputError || error instanceof ClusterError) throw error;
      throw new ClusterError(`etcd cluster did not start: ${(error as Error).message}`, { cause: error });
    }
  }
}

const memberFlagProbe = {
  name: 'probe',
  host: 'probe',
  dataDir: '/x',
  initialCluster: 'probe=http://probe:2380',
  initialClusterState: 'new',
  clusterToken: 'probe',
} as const;

/** Creates member containers for one cluster run; also used for membership changes. */
export class MemberLauncher {
  readonly networkName: string;

  constructor(
    readonly runId: string,
    /** Labels for everything this run creates (see run-labels.ts). */
    readonly labels: Readonly<Record<string, string>>,
    readonly host: HostReport,
    readonly version: EtcdVersion,
    readonly etcdOptions: EtcdOptions,
    readonly dataDir: DataDirKind,
    readonly startupTimeoutMs: number,
  ) {
    this.networkName = `etcd-lab-${runId}`;
  }

  get image(): ResolvedEtcdImage {
    return this.host.image;
  }

  containerName(member: string): string {
    return `etcd-lab-${this.runId}-${member}`;
  }

  async createNetwork(): Promise<void> {
    await docker().createNetwork({
      Name: this.networkName,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { ...this.labels },
    });
    if (this.dataDir === 'memory') {
      const root = join(MEMORY_DATA_ROOT, this.runId);
      await mkdir(root, { recursive: true });
      await writeFile(join(root, 'owner.json'), JSON.stringify(this.labels));
    }
  }

  private async dataSource(member: string): Promise<string> {
    if (this.dataDir === 'memory') {
      const dir = join(MEMORY_DATA_ROOT, this.runId, member);
      await mkdir(dir, { recursive: true });
      return dir;
    }
    const volume = `etcd-lab-${this.runId}-${member}`;
    await docker().createVolume({ Name: volume, Labels: { ...this.labels } });
    return volume;
  }

  async launch(name: string, initialCluster: string, state: 'new' | 'existing'): Promise<EtcdMember> {
    const containerName = this.containerName(name);
    const flags = etcdMemberFlags(
      {
        name,
        host: containerName,
        dataDir: `${DATA_MOUNT}/data`,
        initialCluster,
        initialClusterState: state,
        clusterToken: `etcd-lab-${this.runId}`,
      },
      this.etcdOptions,
      this.version,
    );
    const hostPort = await freePort();
    const started = await new GenericContainer(this.image.image)
      .withName(containerName)
      .withNetworkMode(this.networkName)
      .withLabels({ ...this.labels, [LABEL.member]: name })
      .withEntrypoint([this.image.etcdBinary])
      .withCommand(flags)
      .withBindMounts([{ source: await this.dataSource(name), target: DATA_MOUNT, mode: 'rw' }])
      // A fixed host port survives stop/start of the member, so clients keep working.
      .withExposedPorts({ container: CLIENT_PORT, host: hostPort })
      .withWaitStrategy(new EtcdMemberReadyWait(name))
      .withStartupTimeout(this.startupTimeoutMs)
      .start();
    const member = new EtcdMember(name, containerName, hostPort, docker().getContainer(started.getId()));
    await member.refreshRuntime(this.networkName);
    return member;
  }
}
