import { z } from 'zod';
import { GUARANTEES, type Guarantee } from '../../checks/watch/types.ts';

/**
 * The experiment file's watch keys: `workload.watchers` (what the recorder opens,
 * src/workload/watch-recorder.ts) and the hypothesis' `watch` (what is checked,
 * src/checks/watch-history.ts).
 */

/** Watchers on the workload's key prefix, recorded to watches.jsonl. */
export const watchersSchema = z
  .object({
    count: z.number().int().min(1).max(32),
    /** Watchers two by two on one client (one gRPC stream); otherwise each has its own. */
    sharedStreams: z.boolean().default(false),
    /** 'spread': client k only to member k mod n (a fault on it breaks its stream); 'cluster': any. */
    connectTo: z.enum(['cluster', 'spread']).default('spread'),
    progressNotify: z.boolean().default(true),
    prevKv: z.boolean().default(false),
    /** From the revision after the one read just before the workload, or from the watch's creation. */
    startFrom: z.enum(['initial', 'now']).default('initial'),
  })
  .strict()
  .optional();

/** `true` for all six guarantees, or a list of them. */
export const watchHypothesisSchema = z
  .union([z.boolean(), z.array(z.enum(GUARANTEES as [Guarantee, ...Guarantee[]])).min(1)])
  .optional();
