import { z } from 'zod';
import { seededRandom } from '../../faults/targets.ts';

/**
 * A seeded random schedule of faults in an experiment's method, written in place of explicit
 * steps:
 *
 *     - random:
 *         seed: 7
 *         count: 12        # faults, one after another
 *         at: 3000         # the first one
 *         everyMs: 8000    # between the starts of two
 *         for: 3000        # each one's duration, unless its choice says otherwise
 *         choices:         # fault steps without timing; each fault picks one, uniformly
 *           - { fault: kill, target: leader }
 *           - { fault: delay, target: follower, delayMs: 200 }
 *
 * It becomes `count` ordinary steps before the method is validated, so each is checked like a
 * step written by hand (an error names its position in the expanded method: `method.N`); the
 * same seed always gives the same schedule, which the results record step by step.
 */
const randomBlock = z
  .object({
    seed: z.number().int().nonnegative(),
    count: z.number().int().min(1).max(500),
    at: z.number().int().nonnegative(),
    everyMs: z.number().int().positive(),
    for: z.number().int().positive(),
    choices: z.array(z.record(z.string(), z.unknown())).min(1),
  })
  .strict()
  .refine(
    (r) => r.choices.every((c) => typeof c.for !== 'number' || c.for < r.everyMs) && r.for < r.everyMs,
    {
      message: 'every fault must end before the next starts: for (and each choice’s for) < everyMs',
      path: ['everyMs'],
    },
  );

export type RandomBlock = z.infer<typeof randomBlock>;

const isRandomBlock = (step: unknown): step is { random: unknown } =>
  step !== null && typeof step === 'object' && 'random' in step;

/** The steps a random block stands for (pure; the same seed gives the same steps). */
export function randomSteps(block: RandomBlock): Record<string, unknown>[] {
  const random = seededRandom(block.seed);
  return Array.from({ length: block.count }, (_, k) => {
    const choice = block.choices[Math.floor(random() * block.choices.length)] ?? {};
    return { for: block.for, ...choice, at: block.at + k * block.everyMs };
  });
}

/**
 * zod preprocess for `method`: expands every `random:` entry in place; a malformed block is
 * reported at its own path (method.N.random.field) and the method is then refused.
 */
export function expandRandomSteps(raw: unknown, ctx: z.RefinementCtx): unknown {
  if (!Array.isArray(raw) || !raw.some(isRandomBlock)) return raw;
  const expanded: unknown[] = [];
  let broken = false;
  raw.forEach((step: unknown, i) => {
    if (!isRandomBlock(step)) {
      expanded.push(step);
      return;
    }
    const extra = Object.keys(step).filter((key) => key !== 'random');
    const parsed = randomBlock.safeParse(step.random);
    if (extra.length > 0 || !parsed.success) {
      broken = true;
      if (extra.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: [i, extra[0] as string],
          message: 'a random block has only `random:`',
        });
      for (const issue of parsed.error?.issues ?? [])
        ctx.addIssue({
          code: 'custom',
          path: [i, 'random', ...issue.path.map(String)],
          message: issue.message,
        });
      return;
    }
    expanded.push(...randomSteps(parsed.data));
  });
  return broken ? z.NEVER : expanded;
}
