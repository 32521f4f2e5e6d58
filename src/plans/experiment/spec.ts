import { z } from 'zod';
import { BadInputError } from '../../errors.ts';
import { withoutUndefined } from '../../util/without-undefined.ts';
import { ROLES } from '../../faults/targets.ts';
import { FAULT_CATALOG, FAULT_KINDS, type FaultKind } from '../../faults/catalog.ts';
import { etcdOptionsSchema, resolveEtcdOptions } from '../../cluster/etcd-options.ts';
import { respellLoadStep } from './load-steps.ts';
import { expandRandomSteps } from './random-steps.ts';
import { etcdFieldConflict, etcdRequestOrListField } from '../../host/etcd-choice.ts';
import { watchersSchema, watchHypothesisSchema } from './watch-spec.ts';

/**
 * An experiment is plain data (Chaos Toolkit style): the cluster, a workload, the method
 * (faults with timing and targets) and a steady-state hypothesis with tolerances. It is
 * validated completely before anything starts.
 */
const positiveMs = z.number().int().positive();
const nonNegativeMs = z.number().int().nonnegative();

const retry = z
  .object({
    /** Calls in all, the first included; each retry goes to the next member. */
    attempts: z.number().int().min(2).max(10),
    backoffMs: nonNegativeMs.default(50),
  })
  .strict();

const mix = z
  .object({
    put: z.number().nonnegative().optional(),
    get: z.number().nonnegative().optional(),
    serializableGet: z.number().nonnegative().optional(),
    delete: z.number().nonnegative().optional(),
    txn: z.number().nonnegative().optional(),
  })
  .strict()
  .refine((m) => Object.values(m).some((w) => (w ?? 0) > 0), 'at least one operation needs a weight above 0');

/** Repeats a step `times` times, `everyMs` apart (e.g. several leader kills for an election-time histogram). */
const repeat = z.object({ times: z.number().int().min(2).max(50), everyMs: positiveMs }).strict();

const successBounds = z
  .object({ min: z.number().min(0).max(1).optional(), max: z.number().min(0).max(1).optional() })
  .strict();

/** Tolerances that apply to one step's window; a step's own `expect` overrides the hypothesis' for that step. */
const stepExpectations = {
  /** The workload's latency inside the window vs before any fault (ratios of percentiles). */
  maxLatencyRatio: z
    .object({ p50: z.number().positive().optional(), p99: z.number().positive().optional() })
    .strict()
    .optional(),
  /** Share of the workload's operations (as callers saw them) started and finished in the window that succeeded. */
  successDuringFault: z
    .object({
      all: successBounds.optional(),
      put: successBounds.optional(),
      get: successBounds.optional(),
      serializableGet: successBounds.optional(),
    })
    .strict()
    .optional(),
  /** The same for the clients of every load step (traffic, burst) running during the window. */
  loadSuccessDuringFault: successBounds.optional(),
  /** New majority-agreed leaders inside the window, for steps that do not take the leader away. */
  maxSpuriousLeaderChanges: z.number().int().nonnegative().optional(),
};

const timed = {
  at: nonNegativeMs,
  repeat: repeat.optional(),
  expect: z.object(stepExpectations).strict().optional(),
};

/** One step per fault kind of the catalog (src/faults/catalog.ts): its settings, the timing, `for`. */
const targetedStep = <K extends FaultKind>(kind: K) => {
  const { settings, needsDuration } = FAULT_CATALOG[kind];
  return z
    .object({
      fault: z.literal(kind),
      ...settings,
      ...timed,
      for: needsDuration ? positiveMs : positiveMs.optional(),
    })
    .strict();
};
type TargetedStepSchema = { [K in FaultKind]: ReturnType<typeof targetedStep<K>> }[FaultKind];
// The cast names the union the map builds (one schema per kind; the catalog is never empty).
const targetedSteps = FAULT_KINDS.map((kind) => targetedStep(kind)) as [
  TargetedStepSchema,
  ...TargetedStepSchema[],
];

const faultStep = z.discriminatedUnion('fault', [
  ...targetedSteps,
  /** Extra client load for a while (API servers under heavy traffic): closed loop unless a rate is given. */
  z
    .object({
      fault: z.literal('traffic'),
      clients: z.number().int().positive().max(256),
      ratePerSecond: z.number().positive().optional(),
      mix: mix.optional(),
      retry: retry.optional(),
      ...timed,
      for: positiveMs,
    })
    .strict(),
  /** A burst of writes as fast as `clients` can go (scaling a deployment: many creates and updates at once). */
  z
    .object({
      fault: z.literal('burst'),
      operations: z.number().int().positive().max(100_000),
      clients: z.number().int().positive().max(256).default(8),
      retry: retry.optional(),
      ...timed,
    })
    .strict(),
]);

/**
 * A tolerance in milliseconds: a number, or relative to the cluster's configuration, e.g.
 * "2 × electionTimeout", "1.5*electionTimeout + 200", "10 × heartbeat". Resolved against the
 * cluster's options (etcd's defaults where unset) when the experiment is validated.
 */
const TOLERANCE =
  /^\s*(\d+(?:\.\d+)?)\s*[×x*]\s*(electionTimeout|heartbeat)\s*(?:([+-])\s*(\d+(?:\.\d+)?))?\s*$/;
const tolerance = z.union([
  positiveMs,
  z.string().regex(TOLERANCE, 'a number of ms or "<k> × electionTimeout|heartbeat [+ ms]"'),
]);
export type Tolerance = z.infer<typeof tolerance>;

/** A tolerance in ms against the cluster's etcd options (etcd's defaults where unset), with how it was written. */
export function resolveTolerance(
  value: Tolerance,
  etcd: { readonly heartbeatMs?: number | undefined; readonly electionTimeoutMs?: number | undefined },
): { readonly ms: number; readonly text: string } {
  if (typeof value === 'number') return { ms: value, text: `${value} ms` };
  const [, factor, base, sign, offset] = TOLERANCE.exec(value) ?? [];
  const resolved = resolveEtcdOptions(withoutUndefined(etcd));
  const baseMs = base === 'heartbeat' ? resolved.heartbeatMs : resolved.electionTimeoutMs;
  const ms = Number(factor) * baseMs + (sign === '-' ? -1 : 1) * Number(offset ?? 0);
  return { ms, text: `${Math.round(ms)} ms (${value.trim()})` };
}

/** Quantile claims ("the p50 is at most …") over a random process' samples. */
const quantileClaims = {
  p50: tolerance.optional(),
  p75: tolerance.optional(),
  p90: tolerance.optional(),
  p95: tolerance.optional(),
  p99: tolerance.optional(),
};
export const QUANTILES = { p50: 0.5, p75: 0.75, p90: 0.9, p95: 0.95, p99: 0.99 } as const;

const replaced = (by: string) => z.undefined({ error: `replaced by ${by}` }).optional();

/** What must hold for the hypothesis to be confirmed. Every tolerance is optional. */
const hypothesis = z
  .object({
    /**
     * One-sided confidence of every statistical claim: a claim holds when its bound at this
     * confidence is on the claimed side, deviates when the opposite bound is past it, and is
     * inconclusive otherwise.
     */
    confidence: z.number().gt(0.5).lt(1).default(0.95),
    /**
     * Time from each fault that took the leader to a new leader agreed by a majority, as a
     * distribution over those faults: quantiles at most …, and the share of elections done
     * within one Raft round (2 × electionTimeout: a follower's timer fires within [ET, 2·ET)),
     * or the share won in the first term campaigned for, from the members' logs (what pre-vote
     * changes, whatever the host's load does to the timing).
     */
    election: z
      .object({
        ...quantileClaims,
        withinOneRound: z.number().min(0).max(1).optional(),
        wonInFirstRound: z.number().min(0).max(1).optional(),
      })
      .strict()
      .optional(),
    /** The longest gap between successful writes around each fault that took the leader, as a distribution. */
    writeStall: z.object(quantileClaims).strict().optional(),
    /** Write latency while no fault is active (steady state): quantiles at most …, with order-statistic bounds. */
    baselineLatency: z.object(quantileClaims).strict().optional(),
    /** Every acknowledged write is still there at the end. */
    noAcknowledgedWriteLost: z.boolean().optional(),
    /**
     * The run's history is linearizable (src/checks/linearizable-history.ts says which
     * operations are checked, and why): `true`, or `{ timeLimitMs }` for the checker's search
     * (default 60 s), past which the check is inconclusive, never held.
     */
    linearizable: z
      .union([z.boolean(), z.object({ timeLimitMs: positiveMs.max(3_600_000) }).strict()])
      .optional(),
    /** Every watcher of `workload.watchers` keeps etcd's watch guarantees (watch-spec.ts). */
    watch: watchHypothesisSchema,
    /** After healing, the members converge (equal applied index) within this long. */
    maxRecoveryMs: positiveMs.optional(),
    /** A member brought back after a process fault has applied everything committed while it was away within this long. */
    maxCatchUpMs: positiveMs.optional(),
    /** Per-step tolerances, for every step (a step's own `expect` takes precedence). */
    ...stepExpectations,
    /** Every burst operation succeeds, as its callers saw it. */
    burstsSucceed: z.boolean().optional(),
    // Per-sample bounds on random processes flaked (one slow election decided the verdict).
    maxElectionMs: replaced('election: { p50: …, withinOneRound: … }'),
    maxWriteStallMs: replaced('writeStall: { p50: … }'),
    maxBaselineP99Ms: replaced('baselineLatency: { p99: … }'),
  })
  .strict();

/** The one etcd options schema (src/cluster/etcd-options.ts), cross-field checks included. */
const etcdOptions = etcdOptionsSchema.default({});

const cluster = z
  .object({
    members: z.number().int().min(1).max(7).default(3),
    image: z.string().optional(),
    dataDir: z.enum(['memory', 'disk']).default('memory'),
    etcd: etcdOptions,
  })
  .strict();

const common = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  title: z.string().min(1),
  description: z.string().optional(),
  /** The question from the source material this experiment answers. */
  question: z.string().optional(),
  /** etcd to run: a version ("3.5.30") or an image reference; `--etcd` overrides it. */
  etcd: etcdRequestOrListField.optional(),
  cluster,
};

/** Faults injected into a cluster under a client workload (the default kind). */
const faultExperiment = z
  .object({
    ...common,
    kind: z.literal('fault').default('fault'),
    workload: z
      .object({
        mode: z.enum(['open-loop', 'closed-loop']).default('open-loop'),
        /** Open loop: operations per second, all clients together. */
        ratePerSecond: z.number().positive().optional(),
        clients: z.number().int().positive().default(4),
        durationMs: positiveMs,
        keyCount: z.number().int().positive().default(1_000),
        valueBytes: z.number().int().positive().default(64),
        callTimeoutMs: positiveMs.default(2_000),
        mix: mix.default({ put: 1 }),
        retry: retry.optional(),
        connectTo: z.enum(['cluster', 'spread']).default('cluster'),
        watchers: watchersSchema,
      })
      .strict()
      .refine((w) => w.mode === 'closed-loop' || w.ratePerSecond !== undefined, {
        message: 'an open-loop workload needs ratePerSecond',
        path: ['ratePerSecond'],
      }),
    /** Fault steps, in any order; `random:` entries expand to seeded schedules (random-steps.ts). */
    method: z.preprocess(expandRandomSteps, z.array(z.preprocess(respellLoadStep, faultStep)).min(1)),
    hypothesis,
    /** Extra time after the workload for recovery checks. */
    settleMs: nonNegativeMs.default(2_000),
  })
  .strict();

/**
 * The controller-manager pattern: candidates campaign on an etcd election with session
 * leases; the leader crashes; measured per TTL: failover time and keep-alive load.
 */
const leaseElectionExperiment = z
  .object({
    ...common,
    kind: z.literal('lease-election'),
    ttlsSeconds: z.array(z.number().int().min(1).max(3_600)).min(1),
    candidates: z.number().int().min(2).max(20).default(3),
    /** Failovers measured per TTL. */
    trials: z.number().int().min(1).max(20).default(1),
    loadWindowMs: positiveMs.default(3_000),
    /**
     * What happens to the elected candidate: 'crash' (its process dies) or 'isolate' (it keeps
     * running, cut off from etcd, and believes it leads until etcd3 says it lost).
     */
    holderFault: z.enum(['crash', 'isolate']).default('crash'),
    hypothesis: z
      .object({
        /** Failover ≤ TTL + this much (etcd's expiry check and an election on the lease holder's side). */
        maxFailoverBeyondTtlMs: positiveMs.optional(),
        /** A longer TTL never fails over faster, and never costs more keep-alives per second. */
        tradeOffHolds: z.boolean().optional(),
        /**
         * Two candidates believed at once that they led for at most this long, per failover
         * (src/checks/exclusivity/ says why overlaps are expected and measured, not forbidden).
         */
        maxExclusivityOverlapMs: nonNegativeMs.optional(),
      })
      .strict(),
  })
  .strict();

export const experimentSchema = z.preprocess(
  // `kind` defaults to 'fault'; the union needs it present to pick a branch.
  (raw) => (raw !== null && typeof raw === 'object' && !('kind' in raw) ? { ...raw, kind: 'fault' } : raw),
  z.discriminatedUnion('kind', [faultExperiment, leaseElectionExperiment]),
);

export type ExperimentSpec = z.infer<typeof experimentSchema>;
export type FaultExperimentSpec = Extract<ExperimentSpec, { kind: 'fault' }>;
export type LeaseElectionSpec = Extract<ExperimentSpec, { kind: 'lease-election' }>;
export type FaultStep = FaultExperimentSpec['method'][number];
export type LoadStep = Extract<FaultStep, { fault: 'traffic' | 'burst' }>;
export type TargetedStep = Exclude<FaultStep, LoadStep>;

export const isLoadStep = (step: FaultStep): step is LoadStep =>
  step.fault === 'traffic' || step.fault === 'burst';

export interface ExperimentOverrides {
  /** Run on this many members instead of the file's (`--members`); targets are checked against it. */
  readonly members?: number;
}

/**
 * Validates an experiment completely (schema, then what needs several fields at once) and
 * expands repeated steps, so what comes back is exactly what will run. Bad input:
 * BadInputError naming every offending field.
 */
export function validateExperiment(
  raw: unknown,
  source = 'experiment',
  overrides: ExperimentOverrides = {},
): ExperimentSpec {
  const parsed = experimentSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new BadInputError(`${source} is invalid:\n${problems.join('\n')}`);
  }
  const etcdConflict = etcdFieldConflict(parsed.data);
  if (etcdConflict !== undefined) throw new BadInputError(`${source} is invalid:\n${etcdConflict}`);
  const members = overrides.members ?? parsed.data.cluster.members;
  const spec = { ...parsed.data, cluster: { ...parsed.data.cluster, members } };
  if (spec.kind === 'lease-election') return spec;
  const problems: string[] = [];
  const watch = spec.hypothesis.watch;
  if (watch !== undefined && watch !== false && spec.workload.watchers === undefined)
    problems.push('  hypothesis.watch: needs workload.watchers (the watchers whose streams are checked)');
  spec.method.forEach((step, i) =>
    problems.push(...stepProblems(step, i, members, spec.workload.durationMs)),
  );
  if (problems.length > 0) throw new BadInputError(`${source} is invalid:\n${problems.join('\n')}`);
  return { ...spec, method: spec.method.flatMap(expandRepeat) };
}

const ROLE_NAMES: readonly string[] = ROLES;

function stepProblems(step: FaultStep, i: number, members: number, durationMs: number): string[] {
  const problems: string[] = [];
  const lastAt = step.at + (step.repeat ? (step.repeat.times - 1) * step.repeat.everyMs : 0);
  if (lastAt >= durationMs) {
    problems.push(
      `  method.${i}.at: ${step.repeat ? `the last repetition (${lastAt} ms)` : `${step.at} ms`} is not inside the workload (durationMs ${durationMs})`,
    );
  }
  if (step.repeat && 'for' in step && step.for !== undefined && step.repeat.everyMs <= step.for) {
    problems.push(
      `  method.${i}.repeat.everyMs: ${step.repeat.everyMs} ms leaves no time between repetitions of a ${step.for} ms fault`,
    );
  }
  if (isLoadStep(step)) return problems;
  for (const name of [step.target].flat()) {
    if (/^m\d+$/.test(name)) {
      if (Number(name.slice(1)) > members || Number(name.slice(1)) < 1)
        problems.push(`  method.${i}.target: no member ${name} in a ${members}-member cluster`);
    } else if (!ROLE_NAMES.includes(name)) {
      problems.push(
        `  method.${i}.target: "${name}" is neither a member (m1…) nor a role (${ROLE_NAMES.join(', ')})`,
      );
    } else if ((name === 'follower' || name === 'minority') && members < 2) {
      problems.push(`  method.${i}.target: a 1-member cluster has no ${name}`);
    }
  }
  return problems;
}

function expandRepeat(step: FaultStep): FaultStep[] {
  if (!step.repeat) return [step];
  const { repeat, ...single } = step;
  return Array.from({ length: repeat.times }, (_, k) => ({ ...single, at: step.at + k * repeat.everyMs }));
}
