import { BadInputError, ClusterError } from '../errors.ts';
import { registerCleanup, sweepLeftovers } from '../host/cleanup.ts';
import { etcdRequestProblem } from '../host/etcd-choice.ts';
import { prepareHost } from '../host/prepare-host.ts';
import { newRunId, runLabels } from '../host/run-labels.ts';
import { progress } from '../util/log.ts';
import {
  PEER_PORT,
  etcdMemberFlags,
  parseEtcdVersion,
  validateEtcdOptions,
  type EtcdOptions,
} from './etcd-options.ts';
import { bootMembers } from './member-boot.ts';
import { MemberLauncher, type DataDirKind } from './member-launcher.ts';
import { StartedEtcdCluster } from './started-etcd-cluster.ts';

export { DATA_MOUNT, type DataDirKind } from './member-launcher.ts';

export const MIN_MEMBERS = 1;
export const MAX_MEMBERS = 7;

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

  /**
   * etcd to run: a version ("3.5.30": a cached image, etcd's registry, a build from Debian's
   * packages or the host's binary, see obtainEtcdImage) or an image reference.
   */
  withEtcd(request: string): this {
    this.image = request;
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
    const imageProblem = this.image === undefined ? undefined : etcdRequestProblem(this.image);
    if (imageProblem !== undefined) throw new BadInputError(`etcd: ${imageProblem}`);
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
        .map((name) => `${name}=http://${launcher.containerName(name)}:${PEER_PORT}`)
        .join(',');
      progress(`starting ${this.members}-member etcd cluster ${runId}…`);
      const members = await bootMembers(launcher, names, initialCluster);
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
