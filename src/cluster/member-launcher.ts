import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { getReaper, getContainerRuntimeClient, LABEL_TESTCONTAINERS_SESSION_ID } from 'testcontainers';
import { MEMORY_DATA_ROOT } from '../host/cleanup.ts';
import { docker } from '../host/docker.ts';
import type { ResolvedEtcdImage } from '../host/etcd-image.ts';
import type { HostReport } from '../host/prepare-host.ts';
import { LABEL } from '../host/run-labels.ts';
import { EtcdMember } from './etcd-member.ts';
import { CLIENT_PORT, etcdMemberFlags, type EtcdOptions, type EtcdVersion } from './etcd-options.ts';
import { isPortTakenError, pickMemberHostPort } from './member-host-port.ts';
import { waitForReadyLogLine } from './member-ready-wait.ts';

/**
 * Where members keep their data.
 * - `memory`: a directory on the host's /dev/shm, bind-mounted. Fast fsync like tmpfs, and
 *   unlike a container tmpfs mount it survives a member's stop/kill and restart.
 * - `disk`: a Docker volume on the host's disk, for realistic fsync latency.
 */
export type DataDirKind = 'memory' | 'disk';

/** Where a member's data lives inside its container. etcd wants to create the data dir itself (0700). */
export const DATA_MOUNT = '/var/lib/etcd';
/**
 * The log file etcd writes beside its data, besides stderr. With a memory data dir it lands in
 * the host directory, where the lab reads it without Docker in between (member-log-file.ts); a
 * disk volume is Docker's, unreadable to a lab that is not root, so there only Docker has the log.
 */
const LOG_FILE = 'etcd.log';

export interface LaunchOptions {
  /**
   * Stops a launch that has not finished: no further Docker call is made, a container it
   * created is removed, and the launch rejects with the signal's reason.
   */
  readonly signal?: AbortSignal;
}

/** A member whose container exists but has not been started. */
export interface CreatedMember {
  readonly name: string;
  readonly containerName: string;
  readonly hostPort: number;
  readonly container: Dockerode.Container;
  /** What it was created with, to create it again on another host port (see MemberLauncher.start). */
  readonly initialCluster: string;
  readonly state: 'new' | 'existing';
  /** Where the host reads the log etcd writes beside its data (memory data dirs only). */
  readonly hostLogFile?: string | undefined;
}

/** How often a new member is created again on another host port when Docker finds its port taken. */
const PORT_TAKEN_ATTEMPTS = 3;

/**
 * Creates member containers for one cluster run (also used for membership changes), with the
 * Docker API directly rather than testcontainers' GenericContainer: a member whose etcd exits
 * at once (a rejected flag) must fail at once, in etcd's words, and leave no container — and
 * GenericContainer waits 10 s for ports that an exited container never binds, then rejects
 * without removing it.
 */
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

  /**
   * Creates and starts one member and resolves once it serves clients. For a member joining a
   * running cluster; a new cluster's members are booted together by {@link bootMembers}.
   */
  async launch(
    name: string,
    initialCluster: string,
    state: 'new' | 'existing',
    options: LaunchOptions = {},
  ): Promise<EtcdMember> {
    let created = await this.create(name, initialCluster, state, options);
    try {
      options.signal?.throwIfAborted();
      created = await this.start(created, options);
      await waitForReadyLogLine(created.container, name, this.startupTimeoutMs, 0, options.signal);
      return await this.memberOf(created);
    } catch (error) {
      await removeQuietly(created.container);
      throw error;
    }
  }

  /**
   * Starts a created member's container. When Docker finds its host port taken (another process
   * got there between the pick and the start: see member-host-port.ts), the container is removed
   * and created again on another port, up to {@link PORT_TAKEN_ATTEMPTS} times. Resolves with the
   * member as started; on failure its container is removed.
   */
  async start(created: CreatedMember, options: LaunchOptions = {}): Promise<CreatedMember> {
    let current = created;
    for (let attempt = 1; ; attempt++) {
      try {
        await current.container.start();
        return current;
      } catch (error) {
        await removeQuietly(current.container);
        if (!isPortTakenError(error) || attempt >= PORT_TAKEN_ATTEMPTS) throw error;
        options.signal?.throwIfAborted();
        current = await this.create(current.name, current.initialCluster, current.state, options);
      }
    }
  }

  /** Creates a member's container (and its data directory or volume) without starting it. */
  async create(
    name: string,
    initialCluster: string,
    state: 'new' | 'existing',
    options: LaunchOptions = {},
  ): Promise<CreatedMember> {
    const { signal } = options;
    const containerName = this.containerName(name);
    const flags = etcdMemberFlags(
      {
        name,
        host: containerName,
        dataDir: `${DATA_MOUNT}/data`,
        initialCluster,
        initialClusterState: state,
        clusterToken: `etcd-lab-${this.runId}`,
        ...(this.dataDir === 'memory' ? { logFile: `${DATA_MOUNT}/${LOG_FILE}` } : {}),
      },
      this.etcdOptions,
      this.version,
    );
    // A fixed host port survives stop/start of the member, so clients keep working.
    const hostPort = await pickMemberHostPort();
    const source = await this.dataSource(name);
    const reaperLabels = await this.reaperLabels();
    signal?.throwIfAborted();
    const port = `${CLIENT_PORT}/tcp`;
    const container = await docker().createContainer({
      name: containerName,
      Image: this.image.image,
      Entrypoint: [this.image.etcdBinary],
      Cmd: [...flags],
      Labels: { ...this.labels, ...reaperLabels, [LABEL.member]: name },
      ExposedPorts: { [port]: {} },
      // A lab that is not root could not remove what a root etcd writes in its tmpfs directory:
      // there etcd runs as the lab's user. (A volume is Docker's to create and remove.)
      ...(this.dataDir === 'memory' ? memberUser() : {}),
      HostConfig: {
        NetworkMode: this.networkName,
        Binds: [`${source}:${DATA_MOUNT}:rw`],
        PortBindings: { [port]: [{ HostPort: String(hostPort) }] },
      },
    });
    const hostLogFile = this.dataDir === 'memory' ? join(source, LOG_FILE) : undefined;
    return { name, containerName, hostPort, container, initialCluster, state, hostLogFile };
  }

  /** The handle of a created member once its container runs. */
  async memberOf(created: CreatedMember): Promise<EtcdMember> {
    const member = new EtcdMember(
      created.name,
      created.containerName,
      created.hostPort,
      created.container,
      created.hostLogFile,
    );
    await member.refreshRuntime(this.networkName);
    return member;
  }

  /**
   * testcontainers' reaper, when the host has it, removes members of a killed run at once. Not for
   * a cluster meant to outlive this process (`etcd-lab up`): the reaper would take it when `up` exits.
   */
  private async reaperLabels(): Promise<Record<string, string>> {
    if (!this.host.ryuk || this.labels[LABEL.persistent] === 'true') return {};
    const reaper = await getReaper(await getContainerRuntimeClient());
    return { [LABEL_TESTCONTAINERS_SESSION_ID]: reaper.sessionId };
  }
}

/** The container user for a member whose data is in the lab's tmpfs directory: the lab's own unless root. */
function memberUser(): { User?: string } {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  return uid === undefined || uid === 0 || gid === undefined ? {} : { User: `${uid}:${gid}` };
}

export async function removeQuietly(container: Dockerode.Container): Promise<void> {
  // Already removed (e.g. by a sweep) or being removed: either way it is going.
  await container.remove({ force: true, v: true }).catch(() => undefined);
}
