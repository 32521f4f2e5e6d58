import { actsAtOnce } from '../../faults/catalog.ts';
import type { FaultRecord } from '../../faults/fault.ts';
import type { FaultStep } from './spec.ts';

/**
 * When a fault took effect: for a kind that acts at once, the instant it reported (a kill's
 * signal; role resolution before it can take a second under load) or else the start of its
 * injection (a freeze is the first thing its injection does; the rest is Docker's bookkeeping),
 * else when it is in place (a network fault's last rule); extra load from when its clients start
 * sending. See FaultTraits.actsAt in src/faults/catalog.ts.
 */
export function effectiveAt(fault: FaultRecord, step: FaultStep): number {
  return actsAtOnce(step.fault)
    ? (fault.tookEffectAtMs ?? fault.injectedAtMs)
    : fault.injectedAtMs + fault.injectionLatencyMs;
}
