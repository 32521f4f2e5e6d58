import { z } from 'zod';
import type { Fault } from '../../faults/fault.ts';
import { DelayFault } from '../../faults/network/delay.ts';
import { CpuThrottleFault } from '../../faults/resources/cpu-throttle.ts';

/**
 * What the cluster runs under for the whole cell. `rtt` delays every member's peer traffic by
 * rttMs/2 in each direction: the delay mechanism acts where packets arrive (see
 * src/faults/network/delay.ts), so a request m1→m2 is held rttMs/2 at m2 and the answer
 * rttMs/2 at m1, which adds rttMs to every round trip between members. The lab's own clients on
 * the host are not delayed by that mechanism (tc netem, where it exists, would delay them too).
 */
export const conditionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  z
    .object({
      kind: z.literal('rtt'),
      rttMs: z.number().int().positive(),
      /** ± this much, uniform, per direction (so a round trip varies by up to ±2 × jitterMs). */
      jitterMs: z.number().int().nonnegative().default(0),
    })
    .strict(),
  z.object({ kind: z.literal('cpu'), cpus: z.number().positive() }).strict(),
]);

export type SweepCondition = z.output<typeof conditionSchema>;

/**
 * The fault that holds a cell's condition on every member, or undefined for `none`.
 *
 * rtt: every member's peer traffic is delayed by rttMs/2. The delay is applied where packets
 * arrive (NFQUEUE at the receiver; tc netem, where the kernel has it, at the sender): either
 * way each direction of a round trip between two members is delayed once, so the added
 * round-trip time is rttMs. Constructing the fault validates the numbers (BadInputError).
 */
export function conditionFault(condition: SweepCondition, members: readonly string[]): Fault | undefined {
  switch (condition.kind) {
    case 'none':
      return undefined;
    case 'rtt':
      return new DelayFault({
        target: members,
        delayMs: condition.rttMs / 2,
        ...(condition.jitterMs > 0 ? { jitterMs: condition.jitterMs } : {}),
      });
    case 'cpu':
      return new CpuThrottleFault({ target: members, cpus: condition.cpus });
  }
}

/** Added round-trip time between members under a condition (0 without an rtt condition). */
export const addedRttMs = (condition: SweepCondition): number =>
  condition.kind === 'rtt' ? condition.rttMs : 0;
