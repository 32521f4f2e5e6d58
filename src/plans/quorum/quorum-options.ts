/**
 * What the quorum matrix and the availability run take, checked before anything starts: zod
 * schemas for the numbers, and the one etcd options schema (src/cluster/etcd-options.ts) for the
 * Raft timing. A problem throws BadInputError naming the field.
 */
import { z } from 'zod';
import { parseEtcdOptions, type EtcdOptions } from '../../cluster/etcd-options.ts';
import { BadInputError } from '../../errors.ts';
import type { History } from '../../history/history.ts';
import type { RunClock } from '../../util/clock.ts';
import { MECHANISMS, type MatrixCell, type Mechanism } from './matrix.ts';

/** Short Raft timing so that a cell takes seconds: elections in ~0.25–0.5 s. */
export const QUORUM_TIMING = { heartbeatMs: 25, electionTimeoutMs: 250 } as const;

export interface LatencyLoad {
  /** Open loop: fixed rate, latency from the intended send time. */
  readonly ratePerSecond: number;
  readonly clients: number;
  readonly durationMs: number;
  /** Closed loop (each client sends when its previous call returned): throughput at this many clients. */
  readonly closedLoopClients: number;
}

export const DEFAULT_LATENCY_LOAD: LatencyLoad = {
  ratePerSecond: 200,
  clients: 8,
  durationMs: 5_000,
  closedLoopClients: 8,
};

/** Sizes whose write latency is compared ("extra members slow the cluster down"). */
export const LATENCY_SIZES: readonly number[] = [1, 3, 5, 7];

export interface QuorumMatrixOptions {
  /** Cluster sizes, 1–7; one cluster per size, reused for every k and mechanism. */
  readonly sizes: readonly number[];
  readonly mechanisms: readonly Mechanism[];
  readonly heartbeatMs?: number;
  readonly electionTimeoutMs?: number;
  /**
   * How long each question (write, reads, leader) may take to be answered after the fault is in
   * place (and, with isolation, after the cut-off leader stepped down). Default 12 × election timeout.
   */
  readonly observeMs?: number;
  /** Deadline of each put / get attempt. Default 4 × election timeout. */
  readonly callTimeoutMs?: number;
  /** Write latency measured on each size of {@link LATENCY_SIZES} that is run, before its cells. Default: none. */
  readonly latencyLoad?: LatencyLoad;
  readonly image?: string;
  readonly clock?: RunClock;
  /** Every put and get of the cells is appended here. Default: a new history. */
  readonly history?: History;
  readonly signal?: AbortSignal;
  readonly onCell?: (cell: MatrixCell) => void;
}

/** The matrix's settings once checked, with defaults filled in. */
export interface MatrixSettings {
  readonly etcd: EtcdOptions;
  readonly electionTimeoutMs: number;
  readonly observeMs: number;
  readonly callTimeoutMs: number;
}

const positive = (what: string) =>
  z.number().refine((v) => Number.isFinite(v) && v > 0, {
    error: (issue) => `must be ${what}, got ${String(issue.input)}`,
  });

const memberCount = (what: string) =>
  z.number().refine((n) => Number.isInteger(n) && n >= 1 && n <= 7, {
    error: (issue) => `${what} must be an integer from 1 to 7, got ${String(issue.input)}`,
  });

const matrixOptionsSchema = z.object({
  sizes: z
    .array(memberCount('each size'))
    .min(1, 'give at least one cluster size')
    .refine((sizes) => new Set(sizes).size === sizes.length, 'a size is listed twice'),
  mechanisms: z
    .array(z.string())
    .refine((m) => m.length > 0 && m.every((mechanism) => MECHANISMS.includes(mechanism as Mechanism)), {
      error: (issue) =>
        `each must be one of ${MECHANISMS.join(', ')}, got [${(issue.input as string[]).join(', ')}]`,
    }),
  observeMs: positive('a positive number of ms'),
  callTimeoutMs: positive('a positive number of ms'),
  latencyLoad: z
    .object({
      ratePerSecond: positive('positive'),
      clients: positive('positive'),
      durationMs: positive('positive'),
      closedLoopClients: positive('positive'),
    })
    .optional(),
});

const availabilityOptionsSchema = z.object({
  members: memberCount('availability members'),
  mttfMs: positive('a positive duration in ms'),
  mttrMs: positive('a positive duration in ms'),
  durationMs: positive('a positive duration in ms'),
  probeIntervalMs: positive('a positive duration in ms'),
  batches: z.number().refine((b) => Number.isInteger(b) && b >= 2, {
    error: (issue) => `must be an integer >= 2, got ${String(issue.input)}`,
  }),
});

/**
 * What the user calls each option, by field (e.g. `mttfMs` → `--mttf` for the CLI), so that a
 * problem names what was typed. A field left out is named as it is.
 */
export type OptionNames = Readonly<Record<string, string>>;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every problem as "field: message" (the etcd options' own problems as they come), in `names`' words. */
function problemsOf(schema: z.ZodType, value: unknown, etcd: EtcdOptions, names: OptionNames): string[] {
  const parsed = schema.safeParse(value);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const field = issue.path.join('.');
        // An element of a list ("sizes.0") is named by its list's name.
        const named = names[field] ?? names[String(issue.path[0])];
        return `${named ?? (field || '(options)')}: ${issue.message}`;
      });
  const etcdResult = parseEtcdOptions(etcd);
  // etcd's problems name their fields inside the message ("electionTimeoutMs (50) must be at least …").
  if (!etcdResult.ok)
    problems.push(
      ...etcdResult.problems.map((problem) =>
        Object.entries(names).reduce(
          (text, [field, name]) => text.replace(new RegExp(`\\b${escapeRegExp(field)}\\b`, 'g'), name),
          problem,
        ),
      ),
    );
  return problems;
}

const throwIfAny = (problems: readonly string[]): void => {
  if (problems.length > 0) throw new BadInputError(problems.join('; '));
};

/** Pre-vote keeps a member coming back from isolation from disrupting the leader with a higher term. */
const quorumEtcdOptions = (options: {
  readonly heartbeatMs?: number;
  readonly electionTimeoutMs?: number;
}): EtcdOptions => ({
  heartbeatMs: options.heartbeatMs ?? QUORUM_TIMING.heartbeatMs,
  electionTimeoutMs: options.electionTimeoutMs ?? QUORUM_TIMING.electionTimeoutMs,
  preVote: true,
});

/**
 * Checks the options; throws BadInputError naming the field (as `names` calls it) before anything
 * starts.
 */
export function validateMatrixOptions(options: QuorumMatrixOptions, names: OptionNames = {}): MatrixSettings {
  const etcd = quorumEtcdOptions(options);
  const electionTimeoutMs = etcd.electionTimeoutMs ?? QUORUM_TIMING.electionTimeoutMs;
  const observeMs = options.observeMs ?? 12 * electionTimeoutMs;
  const callTimeoutMs = options.callTimeoutMs ?? 4 * electionTimeoutMs;
  throwIfAny(problemsOf(matrixOptionsSchema, { ...options, observeMs, callTimeoutMs }, etcd, names));
  return { etcd, electionTimeoutMs, observeMs, callTimeoutMs };
}

export interface AvailabilityRunOptions {
  /** Cluster size. Default 3. */
  readonly members?: number;
  /** Scaled mean time to failure and to repair of each member. */
  readonly mttfMs: number;
  readonly mttrMs: number;
  readonly durationMs: number;
  readonly seed?: number;
  /** How often the probe asks every member for its status. Default 100 ms. */
  readonly probeIntervalMs?: number;
  /** Batches for the batch-means confidence interval. Default 10. */
  readonly batches?: number;
  readonly heartbeatMs?: number;
  readonly electionTimeoutMs?: number;
  readonly image?: string;
  readonly clock?: RunClock;
  readonly signal?: AbortSignal;
}

/** What an availability run uses where its options say nothing. */
export const AVAILABILITY_DEFAULTS = { members: 3, seed: 1, probeIntervalMs: 100, batches: 10 } as const;

/** The availability run's cluster options: the quorum timing unless given, pre-vote on. */
export const availabilityEtcdOptions = quorumEtcdOptions;

/** Checks the options before anything starts; a problem names the field as `names` calls it. */
export function validateAvailabilityOptions(options: AvailabilityRunOptions, names: OptionNames = {}): void {
  throwIfAny(
    problemsOf(
      availabilityOptionsSchema,
      {
        ...options,
        members: options.members ?? AVAILABILITY_DEFAULTS.members,
        probeIntervalMs: options.probeIntervalMs ?? AVAILABILITY_DEFAULTS.probeIntervalMs,
        batches: options.batches ?? AVAILABILITY_DEFAULTS.batches,
      },
      quorumEtcdOptions(options),
      names,
    ),
  );
}
