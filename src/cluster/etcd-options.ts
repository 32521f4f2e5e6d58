import { BadInputError } from '../errors.ts';

/** The etcd settings the lab's users tune most; anything else goes in `extraFlags`. */
export interface EtcdOptions {
  /** --heartbeat-interval. etcd default 100 ms. */
  readonly heartbeatMs?: number;
  /** --election-timeout. etcd default 1000 ms; must be ≥ 5 × heartbeat. */
  readonly electionTimeoutMs?: number;
  /** --pre-vote. Unset means etcd's default for the version: false in 3.4, true from 3.5. */
  readonly preVote?: boolean;
  /** --snapshot-count. */
  readonly snapshotCount?: number;
  /** --quota-backend-bytes. */
  readonly quotaBackendBytes?: number;
  /** Lease checkpointing: keeps remaining TTLs across leader changes. Flag name depends on the version. */
  readonly leaseCheckpoint?: boolean;
  /** Any other etcd flags, verbatim, e.g. ["--max-txn-ops=256"]. */
  readonly extraFlags?: readonly string[];
}

export const ETCD_DEFAULT_HEARTBEAT_MS = 100;
export const ETCD_DEFAULT_ELECTION_TIMEOUT_MS = 1000;

/** Rejects options etcd would reject, before any container starts. */
export function validateEtcdOptions(options: EtcdOptions): void {
  const heartbeat = options.heartbeatMs ?? ETCD_DEFAULT_HEARTBEAT_MS;
  const election = options.electionTimeoutMs ?? ETCD_DEFAULT_ELECTION_TIMEOUT_MS;
  for (const [name, value] of [
    ['heartbeatMs', options.heartbeatMs],
    ['electionTimeoutMs', options.electionTimeoutMs],
    ['snapshotCount', options.snapshotCount],
    ['quotaBackendBytes', options.quotaBackendBytes],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
      throw new BadInputError(`etcd option ${name} must be a positive integer, got ${value}`);
    }
  }
  // etcd refuses to start otherwise ("should be at least as 5 times as --heartbeat-interval").
  if (election < 5 * heartbeat) {
    throw new BadInputError(
      `electionTimeoutMs (${election}) must be at least 5 × heartbeatMs (${heartbeat}) = ${5 * heartbeat}`,
    );
  }
  if (election > 50_000) throw new BadInputError(`electionTimeoutMs (${election}) must be at most 50000`);
  for (const flag of options.extraFlags ?? []) {
    if (!/^--[a-z0-9][a-z0-9-]*(=.*)?$/.test(flag)) {
      throw new BadInputError(`extra etcd flag "${flag}" must look like --name or --name=value`);
    }
  }
}

export type EtcdVersion = readonly [major: number, minor: number, patch: number];

export function parseEtcdVersion(version: string): EtcdVersion {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) throw new BadInputError(`cannot parse etcd version "${version}"`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export const versionAtLeast = (version: EtcdVersion, major: number, minor: number): boolean =>
  version[0] > major || (version[0] === major && version[1] >= minor);

export interface MemberFlagInput {
  readonly name: string;
  /** DNS name of the member on the cluster network (its container name). */
  readonly host: string;
  readonly dataDir: string;
  readonly initialCluster: string;
  readonly initialClusterState: 'new' | 'existing';
  readonly clusterToken: string;
}

export const CLIENT_PORT = 2379;
export const PEER_PORT = 2380;

/**
 * The command line for one member. Flags whose name or default differs between etcd
 * versions are chosen from the version the image reports.
 */
export function etcdMemberFlags(
  member: MemberFlagInput,
  options: EtcdOptions,
  version: EtcdVersion,
): string[] {
  if (!versionAtLeast(version, 3, 4)) {
    throw new BadInputError(`etcd ${version.join('.')} is not supported: the lab needs etcd 3.4 or newer`);
  }
  const flags = [
    `--name=${member.name}`,
    `--data-dir=${member.dataDir}`,
    `--listen-client-urls=http://0.0.0.0:${CLIENT_PORT}`,
    `--advertise-client-urls=http://${member.host}:${CLIENT_PORT}`,
    `--listen-peer-urls=http://0.0.0.0:${PEER_PORT}`,
    `--initial-advertise-peer-urls=http://${member.host}:${PEER_PORT}`,
    `--initial-cluster=${member.initialCluster}`,
    `--initial-cluster-state=${member.initialClusterState}`,
    `--initial-cluster-token=${member.clusterToken}`,
    `--heartbeat-interval=${options.heartbeatMs ?? ETCD_DEFAULT_HEARTBEAT_MS}`,
    `--election-timeout=${options.electionTimeoutMs ?? ETCD_DEFAULT_ELECTION_TIMEOUT_MS}`,
    // JSON log lines with timestamps are the ground truth for elections; 3.4 defaults to capnslog.
    ...(versionAtLeast(version, 3, 5) ? [] : ['--logger=zap']),
    '--log-outputs=stderr',
  ];
  if (options.preVote !== undefined) flags.push(`--pre-vote=${options.preVote}`);
  if (options.snapshotCount !== undefined) flags.push(`--snapshot-count=${options.snapshotCount}`);
  if (options.quotaBackendBytes !== undefined)
    flags.push(`--quota-backend-bytes=${options.quotaBackendBytes}`);
  if (options.leaseCheckpoint) {
    flags.push(
      versionAtLeast(version, 3, 6)
        ? '--feature-gates=LeaseCheckpoint=true'
        : '--experimental-enable-lease-checkpoint=true',
    );
  }
  flags.push(...(options.extraFlags ?? []));
  return flags;
}

/** Whether pre-vote is on for these options on this version (recorded in results). */
export const effectivePreVote = (options: EtcdOptions, version: EtcdVersion): boolean =>
  options.preVote ?? versionAtLeast(version, 3, 5);
