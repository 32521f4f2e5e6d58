import { readFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BadInputError } from '../errors.ts';

/**
 * An experiment is plain data (Chaos Toolkit style): the cluster, a workload, the method
 * (faults with timing and targets) and a steady-state hypothesis with tolerances. It is
 * validated completely before anything starts.
 */
const positiveMs = z.number().int().positive();
const nonNegativeMs = z.number().int().nonnegative();
const target = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const faultStep = z.discriminatedUnion('fault', [
  z
    .object({
      fault: z.enum(['kill', 'stop', 'pause', 'sigstop']),
      target,
      at: nonNegativeMs,
      for: positiveMs.optional(),
    })
    .strict(),
  z.object({ fault: z.literal('isolate'), target, at: nonNegativeMs, for: positiveMs }).strict(),
  z
    .object({
      fault: z.literal('delay'),
      target,
      delayMs: z.number().positive(),
      jitterMs: z.number().nonnegative().optional(),
      at: nonNegativeMs,
      for: positiveMs,
    })
    .strict(),
  z
    .object({
      fault: z.literal('loss'),
      target,
      lossPercent: z.number().gt(0).max(100),
      at: nonNegativeMs,
      for: positiveMs,
    })
    .strict(),
  z
    .object({
      fault: z.literal('cpu'),
      target,
      cpus: z.number().positive(),
      at: nonNegativeMs,
      for: positiveMs,
    })
    .strict(),
]);

/** What must hold for the hypothesis to be confirmed. Every tolerance is optional. */
const hypothesis = z
  .object({
    /** A new leader is agreed by a majority within this long after the fault. */
    maxElectionMs: positiveMs.optional(),
    /** The longest gap between successful writes stays under this. */
    maxWriteStallMs: positiveMs.optional(),
    /** Write p99 while no fault is active stays under this (steady state). */
    maxBaselineP99Ms: positiveMs.optional(),
    /** Every acknowledged write is still there at the end. */
    noAcknowledgedWriteLost: z.boolean().optional(),
    /** After healing, the members converge (equal applied index) within this long. */
    maxRecoveryMs: positiveMs.optional(),
  })
  .strict();

export const experimentSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    title: z.string().min(1),
    description: z.string().optional(),
    /** The question from the source material this experiment answers. */
    question: z.string().optional(),
    cluster: z
      .object({
        members: z.number().int().min(1).max(7).default(3),
        image: z.string().optional(),
        dataDir: z.enum(['memory', 'disk']).default('memory'),
        etcd: z
          .object({
            heartbeatMs: positiveMs.optional(),
            electionTimeoutMs: positiveMs.optional(),
            preVote: z.boolean().optional(),
            snapshotCount: positiveMs.optional(),
            extraFlags: z.array(z.string()).optional(),
          })
          .strict()
          .default({}),
      })
      .strict(),
    workload: z
      .object({
        ratePerSecond: z.number().positive(),
        clients: z.number().int().positive().default(4),
        durationMs: positiveMs,
        keyCount: z.number().int().positive().default(1_000),
        valueBytes: z.number().int().positive().default(64),
        callTimeoutMs: positiveMs.default(2_000),
      })
      .strict(),
    method: z.array(faultStep).min(1),
    hypothesis,
    /** Extra time after the workload for recovery checks. */
    settleMs: nonNegativeMs.default(2_000),
  })
  .strict();

export type ExperimentSpec = z.infer<typeof experimentSchema>;
export type FaultStep = ExperimentSpec['method'][number];

export const LAB_DIR = fileURLToPath(new URL('../../lab/', import.meta.url));

/** The experiments shipped in lab/: name → file. */
export function listExperimentFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const file of readdirSync(LAB_DIR)) {
    if (/\.ya?ml$/.test(file)) files.set(basename(file).replace(/\.ya?ml$/, ''), join(LAB_DIR, file));
  }
  return files;
}

/** Loads and validates an experiment by name (from lab/) or by path. Bad input: BadInputError naming the field. */
export async function loadExperiment(nameOrPath: string): Promise<{ spec: ExperimentSpec; file: string }> {
  const shipped = listExperimentFiles();
  const file = shipped.get(nameOrPath) ?? nameOrPath;
  if (!existsSync(file)) {
    throw new BadInputError(
      `unknown experiment "${nameOrPath}": not one of ${[...shipped.keys()].join(', ')} and no such file`,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, 'utf8'));
  } catch (error) {
    throw new BadInputError(`experiment file ${file} is not valid YAML/JSON: ${(error as Error).message}`);
  }
  return { spec: validateExperiment(raw, file), file };
}

export function validateExperiment(raw: unknown, source = 'experiment'): ExperimentSpec {
  const parsed = experimentSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new BadInputError(`${source} is invalid:\n${problems.join('\n')}`);
  }
  const spec = parsed.data;
  // Checks that need more than one field at a time.
  const problems: string[] = [];
  spec.method.forEach((step, i) => {
    if (step.at >= spec.workload.durationMs) {
      problems.push(
        `  method.${i}.at: ${step.at} ms is not inside the workload (durationMs ${spec.workload.durationMs})`,
      );
    }
    for (const name of [step.target].flat()) {
      if (/^m\d+$/.test(name) && Number(name.slice(1)) > spec.cluster.members) {
        problems.push(`  method.${i}.target: no member ${name} in a ${spec.cluster.members}-member cluster`);
      } else if (!/^m\d+$/.test(name) && !['leader', 'follower', 'minority', 'majority'].includes(name)) {
        problems.push(
          `  method.${i}.target: "${name}" is neither a member (m1…) nor a role (leader, follower, minority, majority)`,
        );
      }
    }
  });
  if (problems.length > 0) throw new BadInputError(`${source} is invalid:\n${problems.join('\n')}`);
  return spec;
}
