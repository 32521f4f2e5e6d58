import { CLIENT_PORT } from '../../cluster/etcd-options.ts';
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
import { delayAtReceivers, MAX_DELAY_MS } from './delay.ts';
import { networkBasicsMissing } from './ingress-rules.ts';
import { MEMBER_INTERFACE } from './tc.ts';

export interface ClientDelayOptions {
  /** The members whose clients see a slow network. */
  readonly target: TargetSpec;
  readonly delayMs: number;
  /** Each packet gets delayMs ± up to jitterMs (uniform). Default 0. */
  readonly jitterMs?: number;
  readonly seed?: number;
}

/**
 * A slow network in front of etcd (the source text's "network slowness in front of the API
 * server", seen from etcd's side): packets from clients to the targets' client port wait
 * `delayMs` before the member sees them, so every request's round trip grows by about that.
 * Traffic between members is untouched. Held at the member's ingress by the nfq-delay helper,
 * for the same reason as the peer delay; netem on the member's egress would delay peer
 * traffic too, so it is not used even where the kernel has it.
 */
export function chooseClientDelayMechanism(caps: HostCapabilities): FaultCheck {
  const missing = networkBasicsMissing(caps);
  if (missing !== undefined) return { available: false, mechanism: null, detail: missing };
  const reasons: string[] = [];
  if (!caps.iptables.available) reasons.push(`iptables: ${caps.iptables.detail}`);
  if (!caps.nfqueue.available) reasons.push(`NFQUEUE: ${caps.nfqueue.detail}`);
  if (!caps.nfqDelayHelper.available) reasons.push(`nfq-delay helper: ${caps.nfqDelayHelper.detail}`);
  if (reasons.length > 0) {
    return { available: false, mechanism: null, detail: `no client delay mechanism: ${reasons.join('; ')}` };
  }
  return {
    available: true,
    mechanism: 'nfq-delay-client-ingress',
    detail: `nfq-delay helper on NFQUEUE for TCP to port ${CLIENT_PORT} arriving on ${MEMBER_INTERFACE}`,
  };
}

export class ClientDelayFault implements Fault {
  readonly name = 'client-delay';

  constructor(readonly options: ClientDelayOptions) {
    requireNumber('delayMs', options.delayMs, 0, MAX_DELAY_MS, { integer: true, unit: ' ms' });
    requireNumber('jitterMs', options.jitterMs ?? 0, 0, MAX_DELAY_MS, { integer: true, unit: ' ms' });
  }

  describe(): FaultDescription {
    const { target, delayMs, jitterMs = 0 } = this.options;
    return { fault: this.name, target, delayMs, jitterMs };
  }

  check(caps: HostCapabilities): FaultCheck {
    return chooseClientDelayMechanism(caps);
  }

  async inject(ctx: FaultContext): Promise<FaultHandle> {
    const view = await clusterView(ctx, [this.options.target]);
    const targets = resolveTargetNames(this.options.target, view, seededRandom(ctx.seed ?? 1));
    const mechanism = requireAvailable(this, await capabilitiesOf(ctx));
    const id = faultId('client-delay', targets.join('+'));
    const clientTraffic = ['-i', MEMBER_INTERFACE, '-p', 'tcp', '--dport', String(CLIENT_PORT)];
    return applyFault(ctx, this.describe(), {
      mechanism,
      targets,
      faultId: id,
      apply: (undo, details) =>
        delayAtReceivers(
          ctx,
          undo,
          details,
          id,
          targets.map((name) => [name, [clientTraffic]] as const),
          this.options,
        ),
    });
  }
}
