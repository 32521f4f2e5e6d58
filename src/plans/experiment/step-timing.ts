import { actsAtOnce } from '../../faults/catalog.ts';
import type { FaultRecord } from '../../faults/fault.ts';
import type { FaultStep } from './spec.ts';

/**
 * When a fault took effect: from the start of its injection for a kind that acts at once (a
 * signal or freeze is the first thing its injection does; the rest is Docker's bookkeeping),
 * else when it is in place (a network fault's last rule); extra load from when its clients start
 * sending. See FaultTraits.actsAt in src/faults/catalog.ts.
 */
export function effectiveAt(fault: FaultRecord, step: FaultStep): number {
  return actsAtOnce(step.fault) ? fault.injectedAtMs : fault.injectedAtMs + fault.injectionLatencyMs;
}
