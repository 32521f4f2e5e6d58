import type { Fault } from '../faults/fault.ts';
import { DelayFault } from '../faults/network/delay.ts';
import { CpuThrottleFault } from '../faults/resources/cpu-throttle.ts';
import type { SweepCondition } from './spec.ts';

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
