import type { HostCapabilities } from '../capabilities.ts';
import {
  applyFault,
  capabilitiesOf,
  faultId,
  requireAvailable,
  requireNumber,
  type Fault,
  type FaultCheck,
  type FaultContext,
  type FaultDescription,
  type FaultHandle,
} from '../fault.ts';
import { clusterView, resolveTargetNames, seededRandom, type TargetSpec } from '../targets.ts';
import { networkBasicsMissing } from './ingress-rules.ts';
import { rootQdiscOn } from './tc.ts';

export interface BandwidthOptions {
  /** Whose egress is limited (everything it sends: peers and clients). */
  readonly target: TargetSpec;
  readonly rateKbit: number;
  /** Bucket size. Default: 10 ms worth of the rate, at least 16 KiB. */
  readonly burstBytes?: number;
  /** How long a packet may wait for tokens before tbf drops it. Default 200 ms. */
  readonly latencyMs?: number;
}

export function chooseBandwidthMechanism(caps: HostCapabilities): FaultCheck {
  const missing = networkBasicsMissing(caps);
  if (missing !== undefined) return { available: false, mechanism: null, detail: missing };
  return caps.tcTbf.available
    ? { available: true, mechanism: 'tc-tbf', detail: 'tc tbf on the target interface (egress)' }
    : { available: false, mechanism: null, detail: `tc tbf: ${caps.tcTbf.detail}` };
}

export class BandwidthFault implements Fault {
  readonly name = 'bandwidth';

  constructor(readonly options: BandwidthOptions) {
    requireNumber('rateKbit', options.rateKbit, 8, 100_000_000, { integer: true, unit: ' kbit/s' });
    if (options.burstBytes !== undefined)
      requireNumber('burstBytes', options.burstBytes, 1_600, 1 << 30, { integer: true, unit: ' B' });
    if (options.latencyMs !== undefined)
      requireNumber('latencyMs', options.latencyMs, 1, 60_000, { integer: true, unit: ' ms' });
  }

  describe(): FaultDescription {
    return { fault: this.name, ...this.options };
  }

  check(caps: HostCapabilities): FaultCheck {
    return chooseBandwidthMechanism(caps);
  }

  async inject(ctx: FaultContext): Promise<FaultHandle> {
    const view = await clusterView(ctx, [this.options.target]);
    const targets = resolveTargetNames(this.options.target, view, seededRandom(ctx.seed ?? 1));
    const mechanism = requireAvailable(this, await capabilitiesOf(ctx));
    const { rateKbit, latencyMs = 200 } = this.options;
    const burstBytes = this.options.burstBytes ?? Math.max(16_384, Math.ceil((rateKbit * 1000) / 8 / 100));
    const qdisc = [
      'tbf',
      'rate',
      `${rateKbit}kbit`,
      'burst',
      String(burstBytes),
      'latency',
      `${latencyMs}ms`,
    ];
    return applyFault(ctx, this.describe(), {
      mechanism,
      targets,
      faultId: faultId('bandwidth', targets.join('+')),
      apply: async (undo, details) => {
        details.qdisc = qdisc.join(' ');
        await rootQdiscOn(ctx, undo, targets, qdisc);
      },
    });
  }
}
