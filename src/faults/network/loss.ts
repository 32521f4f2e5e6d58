import { BadInputError } from '../../errors.ts';
import type { HostCapabilities } from '../capabilities.ts';
import {
  allSettledOrThrow,
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
import { rootQdiscOn } from './tc.ts';
import { fromMember, installRules, networkBasicsMissing } from './ingress-rules.ts';
import { byReceiver, egressLinks } from './links.ts';

export interface LossOptions {
  /** Whose outgoing packets are dropped. */
  readonly target: TargetSpec;
  /** Chance, in percent (0–100), that each packet is dropped. */
  readonly lossPercent: number;
  /** Only packets to these members (a directed link). Default: to every member (netem: clients too). */
  readonly to?: TargetSpec;
}

/**
 * tc netem loss where the kernel has it; otherwise iptables' statistic match dropping at random
 * on each receiver's INPUT (not on the sender's OUTPUT, where a drop is reported to the sending
 * socket as an error instead of looking like a lost packet).
 */
export function chooseLossMechanism(caps: HostCapabilities, directed: boolean): FaultCheck {
  const missing = networkBasicsMissing(caps);
  if (missing !== undefined) return { available: false, mechanism: null, detail: missing };
  if (!directed && caps.tcNetem.available) {
    return { available: true, mechanism: 'tc-netem', detail: 'tc netem loss on the target interface' };
  }
  if (caps.iptables.available && caps.iptablesStatistic.available) {
    return {
      available: true,
      mechanism: 'iptables-statistic-ingress',
      detail: "iptables -m statistic --mode random … -j DROP in each receiver's INPUT",
    };
  }
  const reasons = [
    ...(directed ? [] : [`tc netem: ${caps.tcNetem.detail}`]),
    `iptables statistic: ${caps.iptablesStatistic.available ? caps.iptables.detail : caps.iptablesStatistic.detail}`,
  ];
  return { available: false, mechanism: null, detail: `no loss mechanism: ${reasons.join('; ')}` };
}

export class LossFault implements Fault {
  readonly name = 'loss';

  constructor(readonly options: LossOptions) {
    requireNumber('lossPercent', options.lossPercent, 0, 100, { unit: ' %' });
  }

  describe(): FaultDescription {
    const { target, lossPercent, to } = this.options;
    return { fault: this.name, target, lossPercent, ...(to === undefined ? {} : { to }) };
  }

  check(caps: HostCapabilities): FaultCheck {
    return chooseLossMechanism(caps, this.options.to !== undefined);
  }

  async inject(ctx: FaultContext): Promise<FaultHandle> {
    const { target, to, lossPercent } = this.options;
    const view = await clusterView(ctx, to === undefined ? [target] : [target, to]);
    const random = seededRandom(ctx.seed ?? 1);
    const targets = resolveTargetNames(target, view, random);
    const receivers = to === undefined ? undefined : resolveTargetNames(to, view, random);
    const links = egressLinks(targets, view.members, receivers);
    if (links.length === 0) throw new BadInputError('loss: target and "to" leave no link');
    const mechanism = requireAvailable(this, await capabilitiesOf(ctx));
    const id = faultId('loss', targets.join('+'), ...(receivers ? ['to', receivers.join('+')] : []));
    // iptables wants a probability in [0, 1]; four decimals are finer than any experiment needs.
    const probability = (lossPercent / 100).toFixed(4);
    return applyFault(ctx, this.describe(), {
      mechanism,
      targets,
      faultId: id,
      apply: async (undo, details) => {
        if (mechanism === 'tc-netem') {
          const qdisc = ['netem', 'loss', `${lossPercent}%`];
          details.qdisc = qdisc.join(' ');
          await rootQdiscOn(ctx, undo, targets, qdisc);
          return;
        }
        details.probability = probability;
        details.links = links;
        await allSettledOrThrow([...byReceiver(links)], ([receiver, senders]) =>
          installRules(
            ctx,
            undo,
            receiver,
            id,
            senders.map((sender) => ({
              table: 'filter',
              chain: 'INPUT',
              match: [
                ...fromMember(ctx, sender),
                '-m',
                'statistic',
                '--mode',
                'random',
                '--probability',
                probability,
              ],
              jump: ['-j', 'DROP'],
            })),
          ),
        );
      },
    });
  }
}
