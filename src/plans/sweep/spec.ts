import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  etcdOptionFields,
  etcdOptionsSchema,
  parseEtcdOptions,
  resolveEtcdOptions,
  type EtcdOptions,
} from '../../cluster/etcd-options.ts';
import { BadInputError } from '../../errors.ts';
import { etcdFieldConflict, etcdRequestField, fileEtcdRequest } from '../../host/etcd-choice.ts';
import { ROLES } from '../../faults/targets.ts';
import type { LeaderFault } from '../../measure/election-trial.ts';
import { cellLabel } from './cell-labels.ts';
import { conditionFault, conditionSchema, type SweepCondition } from './conditions.ts';
import { packagePath } from '../../util/package-root.ts';
import { withoutUndefined } from '../../util/without-undefined.ts';

/**
 * A sweep is plain data: a matrix of etcd options × conditions (injected round-trip time, CPU
 * throttle, none), one fault repeated `trials` times per cell, a quiet observation window, a
 * write load and a seed. It is validated completely before any cluster starts.
 *
 * Longer than 400 lines on purpose: the schema, its cross-field checks and the cell plan (whose
 * hash decides which stored cells a resumed sweep reuses) are read and changed together.
 */
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
/** A matrix dimension: one value, or a list of values (lists are multiplied out). */
const oneOrMany = <T extends z.ZodType>(value: T) => z.union([value, z.array(value).min(1)]);

/**
 * Every etcd option as a dimension, each value checked by the one options schema's field
 * (src/cluster/etcd-options.ts); combinations are checked across fields in crossFieldProblems.
 */
const matrixDimensions = {
  heartbeatMs: oneOrMany(etcdOptionFields.heartbeatMs).optional(),
  electionTimeoutMs: oneOrMany(etcdOptionFields.electionTimeoutMs).optional(),
  preVote: oneOrMany(etcdOptionFields.preVote).optional(),
  snapshotCount: oneOrMany(etcdOptionFields.snapshotCount).optional(),
  quotaBackendBytes: oneOrMany(etcdOptionFields.quotaBackendBytes).optional(),
  leaseCheckpoint: oneOrMany(etcdOptionFields.leaseCheckpoint).optional(),
  /** A list of flag lists: each inner list is one value of the dimension. */
  extraFlags: z.array(etcdOptionFields.extraFlags).min(1).optional(),
} satisfies Record<keyof EtcdOptions, z.ZodType>;
const matrixSchema = z.object(matrixDimensions).strict();

/**
 * Sweep faults that take the leader away, `trials` times per cell (src/run/leader-loss-trials.ts),
 * by the catalog kind each applies to the leader.
 */
export const LEADER_LOSS_FAULTS = {
  'leader-kill': 'kill',
  'leader-pause': 'pause',
} as const satisfies Record<string, LeaderFault>;
export type LeaderLossFault = keyof typeof LEADER_LOSS_FAULTS;
const leaderLossFault = <K extends LeaderLossFault>(kind: K) => z.object({ kind: z.literal(kind) }).strict();

const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  leaderLossFault('leader-kill'),
  leaderLossFault('leader-pause'),
  z
    .object({
      kind: z.literal('partition-and-heal'),
      /** Who is cut off from the other members: a follower by default (seeded), a role or m1…. */
      target: z.string().min(1).default('follower'),
      /** How long the member stays cut off. Must cover at least one full election timer (2 × ET). */
      isolationMs: positiveInt,
      /** How long to watch after healing. Default max(2 s, 10 × election timeout). */
      observeMs: positiveInt.optional(),
    })
    .strict(),
]);

const range = z
  .object({ min: z.number().optional(), max: z.number().optional() })
  .strict()
  .refine((r) => r.min !== undefined || r.max !== undefined, 'give min, max or both');

/** A claim about the cells its `where` selects; each check gets a verdict per cell. */
const expectationSchema = z
  .object({
    name: z.string().min(1),
    where: z
      .object({
        heartbeatMs: positiveInt.optional(),
        electionTimeoutMs: positiveInt.optional(),
        preVote: z.boolean().optional(),
        snapshotCount: positiveInt.optional(),
        condition: z.enum(['none', 'rtt', 'cpu']).optional(),
        rttMs: positiveInt.optional(),
        /** Election timeout / added round-trip time in this range (selects rtt cells only). */
        electionTimeoutOverRtt: range.optional(),
        /** Heartbeat interval / added round-trip time in this range (selects rtt cells only). */
        heartbeatOverRtt: range.optional(),
      })
      .strict()
      .default({}),
    /** Term increase on the majority side when the isolated member comes back, in every trial. */
    termJumpOnHeal: range.optional(),
    /** Elections (leader changes in /metrics, max over the majority side) after the heal, in every trial. */
    leaderChangesOnHeal: range.optional(),
    /** Leader changes seen during the quiet windows, all of them together. */
    spuriousLeaderChanges: range.optional(),
    /** The same as a rate: leader changes per minute of quiet window. */
    spuriousLeaderChangesPerMinute: range.optional(),
    /** Median election time after the fault (ms, from the members' logs). */
    electionMedianMs: range.optional(),
  })
  .strict();

export const sweepSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    title: z.string().min(1),
    description: z.string().optional(),
    /** etcd to run: a version ("3.5.30") or an image reference; `--etcd` overrides it. */
    etcd: etcdRequestField.optional(),
    cluster: z
      .object({
        members: z.number().int().min(1).max(7).default(3),
        image: z.string().optional(),
        dataDir: z.enum(['memory', 'disk']).default('memory'),
      })
      .strict()
      .default({ members: 3, dataDir: 'memory' }),
    matrix: matrixSchema.optional(),
    configurations: z.array(etcdOptionsSchema).min(1).optional(),
    conditions: z
      .array(conditionSchema)
      .min(1)
      .default([{ kind: 'none' }]),
    fault: faultSchema,
    trials: z.number().int().min(1).max(1_000).default(5),
    seed: z.number().int().nonnegative().default(1),
    /** Watch for leader changes (and measure writes) this long with no fault injected; 0 skips it. */
    quietWindowMs: nonNegativeInt.default(5_000),
    /**
     * How many quiet windows in a row (one continuous write load, counters read at each window's
     * end): spurious elections come in bursts, so one window says little; the cell reports each
     * window and the rate per minute over all of them.
     */
    quietWindows: z.number().int().min(1).max(100).default(1),
    /** The write load during the quiet window and around each heal (open loop, puts). */
    load: z
      .object({
        ratePerSecond: z.number().positive().max(10_000).default(100),
        clients: z.number().int().min(1).max(64).default(4),
        valueBytes: positiveInt.default(64),
      })
      .strict()
      .default({ ratePerSecond: 100, clients: 4, valueBytes: 64 }),
    expectations: z.array(expectationSchema).default([]),
  })
  .strict();

export type SweepSpec = z.infer<typeof sweepSchema>;
export type { SweepCondition };
export type SweepFault = SweepSpec['fault'];
export type SweepExpectation = SweepSpec['expectations'][number];
export type ValueRange = z.infer<typeof range>;

/** One cell of the sweep: one cluster (etcd options × condition) measured `trials` times. */
export interface SweepCell {
  /** 1-based position in the sweep. */
  readonly index: number;
  /** Stable identity from the options and condition: names the cell's file in the results directory. */
  readonly cellId: string;
  /** Hash of everything that determines the measurement; a finished cell is reused only if it matches. */
  readonly cellHash: string;
  readonly label: string;
  readonly etcdOptions: EtcdOptions;
  readonly condition: SweepCondition;
  readonly fault: SweepFault;
  readonly trials: number;
  /** Seed for role resolution and the load, derived from the sweep's seed and the cell's identity. */
  readonly seed: number;
  readonly cluster: SweepSpec['cluster'];
  readonly quietWindowMs: number;
  readonly quietWindows: number;
  readonly load: SweepSpec['load'];
}

export const SWEEPS_DIR = packagePath('lab', 'sweeps');

/** The sweeps shipped in lab/sweeps/: name → file. */
export function listSweepFiles(): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(SWEEPS_DIR)) return files;
  for (const file of readdirSync(SWEEPS_DIR).sort()) {
    if (/\.ya?ml$/.test(file)) files.set(basename(file).replace(/\.ya?ml$/, ''), join(SWEEPS_DIR, file));
  }
  return files;
}

/** Loads and validates a sweep by name (from lab/sweeps/) or by path. Bad input: BadInputError naming the field. */
export async function loadSweep(nameOrPath: string): Promise<{ spec: SweepSpec; file: string }> {
  const shipped = listSweepFiles();
  const file = shipped.get(nameOrPath) ?? nameOrPath;
  if (!existsSync(file)) {
    throw new BadInputError(
      `unknown sweep "${nameOrPath}": not one of ${[...shipped.keys()].join(', ')} and no such file`,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, 'utf8'));
  } catch (error) {
    throw new BadInputError(`sweep file ${file} is not valid YAML/JSON: ${(error as Error).message}`);
  }
  return { spec: validateSweep(raw, file), file };
}

export function validateSweep(raw: unknown, source = 'sweep'): SweepSpec {
  const parsed = sweepSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new BadInputError(`${source} is invalid:\n${problems.join('\n')}`);
  }
  const spec = parsed.data;
  const problems = crossFieldProblems(spec);
  if (problems.length > 0) throw new BadInputError(`${source} is invalid:\n${problems.join('\n')}`);
  return spec;
}

/** Checks that need more than one field at a time, as "  field: message" lines. */
function crossFieldProblems(spec: SweepSpec): string[] {
  const problems: string[] = [etcdFieldConflict(spec) ?? []].flat();
  if ((spec.matrix === undefined) === (spec.configurations === undefined)) {
    problems.push('  matrix: give either matrix (multiplied out) or configurations (an explicit list)');
    return problems;
  }
  const configurations = expandConfigurations(spec);
  const field = (i: number) =>
    spec.configurations ? `configurations.${i}` : `matrix (combination ${i + 1})`;
  configurations.forEach((options, i) => {
    const parsed = parseEtcdOptions(options);
    if (!parsed.ok) problems.push(...parsed.problems.map((problem) => `  ${field(i)}: ${problem}`));
    const et = resolveEtcdOptions(options).electionTimeoutMs;
    if (spec.fault.kind === 'partition-and-heal' && spec.fault.isolationMs < 2 * et) {
      problems.push(
        `  fault.isolationMs: ${spec.fault.isolationMs} ms is shorter than 2 × electionTimeoutMs (${2 * et} ms) of ${field(i)}: the isolated member's election timer might never fire`,
      );
    }
  });
  const keys = configurations.map((options) => canonicalJson(options));
  const duplicate = keys.findIndex((key, i) => keys.indexOf(key) !== i);
  if (duplicate >= 0) problems.push(`  ${field(duplicate)}: the same etcd options appear twice`);

  const members = spec.cluster.members;
  if (spec.fault.kind !== 'none' && members < 3) {
    problems.push(
      `  cluster.members: fault ${spec.fault.kind} needs at least 3 members (a majority must survive), got ${members}`,
    );
  }
  if (spec.fault.kind === 'partition-and-heal') {
    const target = spec.fault.target;
    const member = /^m(\d+)$/.exec(target);
    if (member && Number(member[1]) > members) {
      problems.push(`  fault.target: no member ${target} in a ${members}-member cluster`);
    } else if (!member && !['leader', 'follower'].includes(target)) {
      problems.push(
        `  fault.target: "${target}" must be leader, follower or a member (m1…); ${ROLES.join(', ')} are roles, but only one member is isolated`,
      );
    }
  }
  spec.conditions.forEach((condition, i) => {
    if (condition.kind === 'rtt' && condition.rttMs % 2 !== 0) {
      problems.push(
        `  conditions.${i}.rttMs: must be even (each direction is delayed rttMs/2 whole milliseconds), got ${condition.rttMs}`,
      );
    }
    if (condition.kind === 'rtt' && condition.jitterMs > condition.rttMs / 2) {
      problems.push(
        `  conditions.${i}.jitterMs: at most rttMs/2 (${condition.rttMs / 2}): a delay cannot go below zero`,
      );
    }
    try {
      // The fault's own constructor knows its limits (e.g. cpus: at most this host's CPUs).
      conditionFault(condition, ['m1']);
    } catch (error) {
      problems.push(`  conditions.${i}: ${(error as Error).message}`);
    }
  });
  const keysOfConditions = spec.conditions.map((c) => canonicalJson(c));
  const sameCondition = keysOfConditions.findIndex((key, i) => keysOfConditions.indexOf(key) !== i);
  if (sameCondition >= 0) problems.push(`  conditions.${sameCondition}: the same condition appears twice`);

  const cells = planCells(spec);
  spec.expectations.forEach((expectation, i) => {
    if (!cells.some((cell) => expectationApplies(expectation, cell))) {
      problems.push(`  expectations.${i}.where: selects no cell of this sweep`);
    }
    const checks = [
      expectation.termJumpOnHeal,
      expectation.leaderChangesOnHeal,
      expectation.spuriousLeaderChanges,
      expectation.spuriousLeaderChangesPerMinute,
      expectation.electionMedianMs,
    ];
    if (checks.every((c) => c === undefined)) {
      problems.push(
        `  expectations.${i}: no check (termJumpOnHeal, leaderChangesOnHeal, spuriousLeaderChanges, spuriousLeaderChangesPerMinute, electionMedianMs)`,
      );
    }
    const healChecks = expectation.termJumpOnHeal ?? expectation.leaderChangesOnHeal;
    if (healChecks !== undefined && spec.fault.kind !== 'partition-and-heal') {
      problems.push(`  expectations.${i}: heal checks need fault partition-and-heal`);
    }
    if (expectation.electionMedianMs !== undefined && !isLeaderFault(spec.fault)) {
      problems.push(
        `  expectations.${i}.electionMedianMs: needs fault ${Object.keys(LEADER_LOSS_FAULTS).join(' or ')}`,
      );
    }
    for (const check of ['spuriousLeaderChanges', 'spuriousLeaderChangesPerMinute'] as const) {
      if (expectation[check] !== undefined && spec.quietWindowMs === 0) {
        problems.push(`  expectations.${i}.${check}: needs a quiet window (quietWindowMs > 0)`);
      }
    }
  });
  return problems;
}

/** A fault that takes the leader away in every trial (see LEADER_LOSS_FAULTS). */
export const isLeaderFault = (fault: SweepFault): fault is Extract<SweepFault, { kind: LeaderLossFault }> =>
  Object.hasOwn(LEADER_LOSS_FAULTS, fault.kind);

/** The etcd option sets of a sweep: the explicit list, or the matrix multiplied out (first key varies slowest). */
export function expandConfigurations(spec: Pick<SweepSpec, 'matrix' | 'configurations'>): EtcdOptions[] {
  if (spec.configurations) return spec.configurations.map((c) => withoutUndefined(c));
  const dimensions = Object.entries(spec.matrix ?? {})
    .filter(([, values]) => values !== undefined)
    .map(([key, values]) => {
      // extraFlags is always a list of values; any other dimension may be one bare value.
      const list: unknown[] =
        key === 'extraFlags' || Array.isArray(values) ? (values as unknown[]) : [values];
      return { key, list };
    });
  let combinations: Record<string, unknown>[] = [{}];
  for (const { key, list } of dimensions) {
    combinations = combinations.flatMap((partial) => list.map((value) => ({ ...partial, [key]: value })));
  }
  return combinations;
}

/** Every cell: configurations (outer) × conditions (inner), with ids and hashes. */
export function planCells(spec: SweepSpec): SweepCell[] {
  const cells: SweepCell[] = [];
  // A cell's cluster names the etcd it runs (so its hash changes with the version); unset stays unset.
  const etcd = fileEtcdRequest(spec);
  const cluster = etcd === undefined ? spec.cluster : { ...spec.cluster, image: etcd };
  for (const etcdOptions of expandConfigurations(spec)) {
    for (const condition of spec.conditions) {
      const identity = { etcdOptions, condition };
      const cellId = sha256(canonicalJson(identity)).slice(0, 12);
      const measured = {
        ...identity,
        cluster,
        fault: spec.fault,
        trials: spec.trials,
        seed: spec.seed,
        quietWindowMs: spec.quietWindowMs,
        quietWindows: spec.quietWindows,
        load: spec.load,
      };
      cells.push({
        index: cells.length + 1,
        cellId,
        cellHash: sha256(canonicalJson({ schemaVersion: CELL_SCHEMA_VERSION, ...measured })),
        label: cellLabel(etcdOptions, condition),
        etcdOptions,
        condition,
        fault: spec.fault,
        trials: spec.trials,
        seed: (spec.seed + Number.parseInt(cellId.slice(0, 8), 16)) % 2 ** 31,
        cluster,
        quietWindowMs: spec.quietWindowMs,
        quietWindows: spec.quietWindows,
        load: spec.load,
      });
    }
  }
  return cells;
}

/** Bumped when what a cell measures changes, so old results are not silently reused. */
export const CELL_SCHEMA_VERSION = 2;

/**
 * Whether an expectation's `where` selects this cell. Unset timings compare as etcd's defaults;
 * an unset preVote matches no `where.preVote` (its default depends on the etcd version).
 */
export function expectationApplies(expectation: SweepExpectation, cell: SweepCell): boolean {
  const w = expectation.where;
  const o = cell.etcdOptions;
  const { heartbeatMs, electionTimeoutMs } = resolveEtcdOptions(o);
  const rtt = cell.condition.kind === 'rtt' ? cell.condition.rttMs : undefined;
  const ratioIn = (r: ValueRange | undefined, numerator: number) =>
    r === undefined || (rtt !== undefined && inRange(r, numerator / rtt));
  return (
    ratioIn(w.electionTimeoutOverRtt, electionTimeoutMs) &&
    ratioIn(w.heartbeatOverRtt, heartbeatMs) &&
    (w.heartbeatMs === undefined || w.heartbeatMs === heartbeatMs) &&
    (w.electionTimeoutMs === undefined || w.electionTimeoutMs === electionTimeoutMs) &&
    (w.preVote === undefined || w.preVote === o.preVote) &&
    (w.snapshotCount === undefined || w.snapshotCount === o.snapshotCount) &&
    (w.condition === undefined || w.condition === cell.condition.kind) &&
    (w.rttMs === undefined || (cell.condition.kind === 'rtt' && w.rttMs === cell.condition.rttMs))
  );
}

export const inRange = (r: ValueRange, v: number): boolean =>
  (r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max);

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
