import { z } from 'zod';
import { BadInputError } from '../errors.ts';
import { withoutUndefined } from '../util/without-undefined.ts';

/**
 * etcd's own defaults for the options the lab resolves when they are unset (etcd 3.4–3.6 agree
 * on these). Pre-vote is not here: its default depends on the version (see effectivePreVote).
 */
export const ETCD_DEFAULTS = {
  /** --heartbeat-interval. */
  heartbeatMs: 100,
  /** --election-timeout. */
  electionTimeoutMs: 1_000,
  /** Lease checkpointing is off unless enabled. */
  leaseCheckpoint: false,
} as const;

/** etcd refuses a longer election timeout ("--election-timeout[…] is too long"). */
export const MAX_ELECTION_TIMEOUT_MS = 50_000;

const positiveInteger = z.number().refine((v) => Number.isInteger(v) && v > 0, {
  error: (issue) => `must be a positive integer, got ${String(issue.input)}`,
});

const EXTRA_FLAG = /^--[a-z0-9][a-z0-9-]*(=.*)?$/;

/**
 * One schema per etcd option, without `.optional()`: a sweep's matrix multiplies lists of these
 * out, so it needs each field's own schema. {@link etcdOptionsSchema} is the whole object.
 */
export const etcdOptionFields = {
  /** --heartbeat-interval. etcd default 100 ms. */
  heartbeatMs: positiveInteger,
  /** --election-timeout. etcd default 1000 ms; must be ≥ 5 × heartbeat and ≤ 50 s. */
  electionTimeoutMs: positiveInteger,
  /** --pre-vote. Unset means etcd's default for the version: false in 3.4, true from 3.5. */
  preVote: z.boolean(),
  /** --snapshot-count. */
  snapshotCount: positiveInteger,
  /** --quota-backend-bytes. */
  quotaBackendBytes: positiveInteger,
  /** Lease checkpointing: keeps remaining TTLs across leader changes. Flag name depends on the version. */
  leaseCheckpoint: z.boolean(),
  /** Any other etcd flags, verbatim, e.g. ["--max-txn-ops=256"]. */
  extraFlags: z.array(
    z.string().regex(EXTRA_FLAG, {
      error: (issue) => `extra etcd flag "${String(issue.input)}" must look like --name or --name=value`,
    }),
  ),
} as const;

/** Checks across fields, on options whose fields are each valid: what etcd itself refuses to start with. */
export function etcdOptionsCrossFieldProblems(options: EtcdOptions): string[] {
  const { heartbeatMs, electionTimeoutMs } = resolveEtcdOptions(options);
  const problems: string[] = [];
  // etcd refuses to start otherwise ("should be at least as 5 times as --heartbeat-interval").
  if (electionTimeoutMs < 5 * heartbeatMs) {
    problems.push(
      `electionTimeoutMs (${electionTimeoutMs}) must be at least 5 × heartbeatMs (${heartbeatMs}) = ${5 * heartbeatMs}`,
    );
  }
  if (electionTimeoutMs > MAX_ELECTION_TIMEOUT_MS) {
    problems.push(`electionTimeoutMs (${electionTimeoutMs}) must be at most ${MAX_ELECTION_TIMEOUT_MS}`);
  }
  return problems;
}

/**
 * The etcd settings the lab's users tune most; anything else goes in `extraFlags`. The one
 * schema for them: the experiment and sweep specs, the quorum-claims run and
 * `EtcdCluster.withEtcdOptions` all check options with it. Issues across fields have an empty path.
 */
export const etcdOptionsSchema = z
  .object({
    heartbeatMs: etcdOptionFields.heartbeatMs.optional(),
    electionTimeoutMs: etcdOptionFields.electionTimeoutMs.optional(),
    preVote: etcdOptionFields.preVote.optional(),
    snapshotCount: etcdOptionFields.snapshotCount.optional(),
    quotaBackendBytes: etcdOptionFields.quotaBackendBytes.optional(),
    leaseCheckpoint: etcdOptionFields.leaseCheckpoint.optional(),
    extraFlags: etcdOptionFields.extraFlags.optional(),
  })
  .strict()
  .superRefine((options, ctx) => {
    for (const message of etcdOptionsCrossFieldProblems(withoutUndefined(options))) {
      ctx.addIssue({ code: 'custom', message });
    }
  });

type Parsed = z.output<typeof etcdOptionsSchema>;

/** The options as the lab passes them around: readonly, and an unset option is left out (never `undefined`). */
export type EtcdOptions = {
  readonly [K in keyof Parsed]?: K extends 'extraFlags' ? readonly string[] : Exclude<Parsed[K], undefined>;
};

/** Options with etcd's defaults filled in where the version does not matter. */
export interface ResolvedEtcdOptions {
  readonly heartbeatMs: number;
  readonly electionTimeoutMs: number;
  /** Unset: etcd's default for the version (see effectivePreVote). */
  readonly preVote?: boolean;
  /** Unset: etcd's default for the version. */
  readonly snapshotCount?: number;
  /** Unset: etcd's default (2 GiB). */
  readonly quotaBackendBytes?: number;
  readonly leaseCheckpoint: boolean;
  readonly extraFlags: readonly string[];
}

/** Fills in {@link ETCD_DEFAULTS}; the one place an unset heartbeat or election timeout becomes a number. */
export function resolveEtcdOptions(options: EtcdOptions): ResolvedEtcdOptions {
  return {
    ...options,
    heartbeatMs: options.heartbeatMs ?? ETCD_DEFAULTS.heartbeatMs,
    electionTimeoutMs: options.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs,
    leaseCheckpoint: options.leaseCheckpoint ?? ETCD_DEFAULTS.leaseCheckpoint,
    extraFlags: options.extraFlags ?? [],
  };
}

/**
 * Options as parsed by {@link etcdOptionsSchema}, or every problem in words: a field's problem
 * as "etcd option <field> <message>", other problems as they are.
 */
export function parseEtcdOptions(
  raw: unknown,
):
  { readonly ok: true; readonly options: EtcdOptions } | { readonly ok: false; readonly problems: string[] } {
  const parsed = etcdOptionsSchema.safeParse(raw);
  if (parsed.success) return { ok: true, options: withoutUndefined(parsed.data) };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) =>
      issue.path.length === 1 ? `etcd option ${String(issue.path[0])} ${issue.message}` : issue.message,
    ),
  };
}

/** Rejects options etcd would reject, before any container starts: BadInputError with the first problem. */
export function validateEtcdOptions(options: EtcdOptions): void {
  const result = parseEtcdOptions(options);
  if (!result.ok) throw new BadInputError(result.problems[0] ?? 'invalid etcd options');
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
  /** A file (inside the container) etcd also writes its log to, beside stderr. */
  readonly logFile?: string;
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
  const resolved = resolveEtcdOptions(options);
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
    `--heartbeat-interval=${resolved.heartbeatMs}`,
    `--election-timeout=${resolved.electionTimeoutMs}`,
    // JSON log lines with timestamps are the ground truth for elections; 3.4 defaults to capnslog.
    ...(versionAtLeast(version, 3, 5) ? [] : ['--logger=zap']),
    `--log-outputs=${['stderr', ...(member.logFile === undefined ? [] : [member.logFile])].join(',')}`,
  ];
  if (options.preVote !== undefined) flags.push(`--pre-vote=${options.preVote}`);
  if (options.snapshotCount !== undefined) flags.push(`--snapshot-count=${options.snapshotCount}`);
  if (options.quotaBackendBytes !== undefined)
    flags.push(`--quota-backend-bytes=${options.quotaBackendBytes}`);
  if (resolved.leaseCheckpoint) {
    flags.push(
      versionAtLeast(version, 3, 6)
        ? '--feature-gates=LeaseCheckpoint=true'
        : '--experimental-enable-lease-checkpoint=true',
    );
  }
  flags.push(...resolved.extraFlags);
  return flags;
}

/** Whether pre-vote is on for these options on this version (recorded in results). */
export const effectivePreVote = (options: EtcdOptions, version: EtcdVersion): boolean =>
  options.preVote ?? versionAtLeast(version, 3, 5);
