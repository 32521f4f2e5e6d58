import type { z } from 'zod';
import { warn } from '../../util/log.ts';

/**
 * Load steps add clients (traffic for a while, a burst of writes) and do nothing to the cluster,
 * so a file writes them `load: traffic` / `load: burst`, not as faults. The method's schema
 * still tells every step apart by its `fault` field (results echo a step as they always have):
 * this maps the file's spelling onto it, and reads the old spelling `fault: traffic` with a
 * warning, once per process.
 */
export const LOAD_KINDS = ['traffic', 'burst'] as const;
export type LoadKind = (typeof LOAD_KINDS)[number];

const isLoadKind = (value: unknown): value is LoadKind => (LOAD_KINDS as readonly unknown[]).includes(value);

let warnedOldSpelling = false;

/** A method step as written → as the schema reads it (`load: X` → `fault: X`); problems go to ctx. */
export function respellLoadStep(raw: unknown, ctx: z.core.$RefinementCtx): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const step = raw as Record<string, unknown>;
  if ('load' in step) {
    const { load, ...rest } = step;
    if ('fault' in rest) {
      ctx.addIssue({
        code: 'custom',
        path: ['load'],
        message: 'a step is either a fault or a load, not both',
      });
    } else if (!isLoadKind(load)) {
      ctx.addIssue({
        code: 'custom',
        path: ['load'],
        message: `a load step is one of ${LOAD_KINDS.join(', ')}`,
      });
    } else {
      return { fault: load, ...rest };
    }
    return raw;
  }
  if (isLoadKind(step.fault) && !warnedOldSpelling) {
    warnedOldSpelling = true;
    warn(
      `"fault: ${step.fault}" is a load step, not a fault: write it "load: ${step.fault}" (the old spelling is still read)`,
    );
  }
  return raw;
}
