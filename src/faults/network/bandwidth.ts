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
import { claimEach, tcShapingMissing } from './member-shaping.ts';
import { requireScope, type TrafficScope } from './traffic-scope.ts';

export interface BandwidthOptions {
  /** Whose egress is limited. */
  readonly target: TargetSpec;
  readonly rateKbit: number;
  /** Bucket size. Default: 10 ms worth of the rate, at least 16 KiB. */
  readonly burstBytes?: number;
  /** How long a packet may wait for tokens before tbf drops it. Default 200 ms. */
  readonly latencyMs?: number;
  /** Which traffic of the target's: peers (default), clients or all (see traffic-scope.ts). */
  readonly scope?: TrafficScope;
}

/** tbf in the target's composed tc tree (member-shaping.ts), on the bands of the scope. */
export function chooseBandwidthMechanism(caps: HostCapabilities, scope: TrafficScope = 'peers'): FaultCheck {
  const missing = networkBasicsMissing(caps);
  if (missing !== undefined) return { available: false, mechanism: null, detail: missing };
  const tc = tcShapingMissing(caps, { tbf: true });
  return tc === undefined
    ? {
        available: true,
        mechanism: 'tc-tbf',
        detail: `tc tbf on the target's ${scope} traffic (egress, htb-classified by port)`,
      }
    : { available: false, mechanism: null, detail: tc };
}

export class BandwidthFault implements Fault {
  readonly name = 'bandwidth';
  private readonly scope: TrafficScope;

  constructor(readonly options: BandwidthOptions) {
    requireNumber('rateKbit', options.rateKbit, 8, 100_000_000, { integer: true, unit: ' kbit/s' });
    if (options.burstBytes !== undefined)
      requireNumber('burstBytes', options.burstBytes, 1_600, 1 << 30, { integer: true, unit: ' B' });
    if (options.latencyMs !== undefined)
      requireNumber('latencyMs', options.latencyMs, 1, 60_000, { integer: true, unit: ' ms' });
    this.scope = requireScope(options.scope, false);
  }

  describe(): FaultDescription {
    return { fault: this.name, ...this.options };
  }

  check(caps: HostCapabilities): FaultCheck {
    return chooseBandwidthMechanism(caps, this.scope);
  }

  async inject(ctx: FaultContext): Promise<FaultHandle> {
    const view = await clusterView(ctx, [this.options.target]);
    const targets = resolveTargetNames(this.options.target, view, seededRandom(ctx.seed ?? 1));
    const caps = await capabilitiesOf(ctx);
    const mechanism = requireAvailable(this, caps);
    const { rateKbit, latencyMs = 200 } = this.options;
    const burstBytes = this.options.burstBytes ?? Math.max(16_384, Math.ceil((rateKbit * 1000) / 8 / 100));
    const id = faultId('bandwidth', targets.join('+'), ...(this.scope === 'peers' ? [] : [this.scope]));
    return applyFault(ctx, this.describe(), {
      mechanism,
      targets,
      faultId: id,
      apply: async (undo, details) => {
        details.scope = this.scope;
        details.tc = await claimEach(ctx, undo, targets, id, {
          scope: this.scope,
          impairment: { rate: { kbit: rateKbit, burstBytes, latencyMs } },
          viaTc: true,
          netem: caps.tcNetem.available,
        });
      },
    });
  }
}
