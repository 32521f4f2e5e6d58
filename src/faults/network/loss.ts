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
import type { Rule } from './iptables.ts';
import { claimNetemOrGuard, tcShapingMissing } from './member-shaping.ts';
import { requireScope, scopeBands, type TrafficScope } from './traffic-scope.ts';
import { ingressMatches, installRules, networkBasicsMissing } from './ingress-rules.ts';
import { egressLinks } from './links.ts';

export interface LossOptions {
  /** Whose outgoing packets are dropped. */
  readonly target: TargetSpec;
  /** Chance, in percent (0–100), that each packet is dropped. */
  readonly lossPercent: number;
  /** Only packets to these members (a directed link; peer traffic only). Default: to every member. */
  readonly to?: TargetSpec;
  /** Which traffic of the target's: peers (default), clients or all (see traffic-scope.ts). */
  readonly scope?: TrafficScope;
}

/**
 * tc netem loss in the target's composed tc tree (member-shaping.ts) where the kernel has netem and
 * htb; otherwise iptables' statistic match dropping at random on the receiving side's INPUT (not on
 * the sender's OUTPUT, where a drop is reported to the sending socket as an error instead of
 * looking like a lost packet): each peer's INPUT for what the target sends it, the target's own
 * INPUT for its clients' requests.
 */
export function chooseLossMechanism(
  caps: HostCapabilities,
  directed: boolean,
  scope: TrafficScope = 'peers',
): FaultCheck {
  const missing = networkBasicsMissing(caps);
  if (missing !== undefined) return { available: false, mechanism: null, detail: missing };
  const tc = tcShapingMissing(caps, { netem: true });
  if (!directed && tc === undefined) {
    return {
      available: true,
      mechanism: 'tc-netem',
      detail: `tc netem loss on the target's ${scope} traffic (egress, htb-classified by port)`,
    };
  }
  if (caps.iptables.available && caps.iptablesStatistic.available) {
    return {
      available: true,
      mechanism: 'iptables-statistic-ingress',
      detail: `iptables -m statistic --mode random … -j DROP on the receiving side's INPUT (${scope})`,
    };
  }
  const reasons = [
    ...(directed || tc === undefined ? [] : [tc]),
    `iptables statistic: ${caps.iptablesStatistic.available ? caps.iptables.detail : caps.iptablesStatistic.detail}`,
  ];
  return { available: false, mechanism: null, detail: `no loss mechanism: ${reasons.join('; ')}` };
}

export class LossFault implements Fault {
  readonly name = 'loss';
  private readonly scope: TrafficScope;

  constructor(readonly options: LossOptions) {
    requireNumber('lossPercent', options.lossPercent, 0, 100, { unit: ' %' });
    this.scope = requireScope(options.scope, options.to !== undefined);
  }

  describe(): FaultDescription {
    const { target, lossPercent, to, scope } = this.options;
    return {
      fault: this.name,
      target,
      lossPercent,
      ...(to === undefined ? {} : { to }),
      ...(scope === undefined ? {} : { scope }),
    };
  }

  check(caps: HostCapabilities): FaultCheck {
    return chooseLossMechanism(caps, this.options.to !== undefined, this.scope);
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
    const id = faultId(
      'loss',
      targets.join('+'),
      ...(receivers ? ['to', receivers.join('+')] : []),
      ...(this.scope === 'peers' ? [] : [this.scope]),
    );
    // iptables wants a probability in [0, 1]; four decimals are finer than any experiment needs.
    const probability = (lossPercent / 100).toFixed(4);
    const claim = { scope: this.scope, impairment: { lossPercent }, viaNetem: mechanism === 'tc-netem' };
    return applyFault(ctx, this.describe(), {
      mechanism,
      targets,
      faultId: id,
      apply: async (undo, details) => {
        if (await claimNetemOrGuard(ctx, undo, details, targets, id, claim)) return;
        details.probability = probability;
        if (scopeBands(this.scope).includes('peers')) details.links = links;
        const rules = [...ingressMatches(ctx, links, targets, this.scope)].map(
          ([receiver, matches]) =>
            [receiver, matches.map((match) => randomDropRule(match, probability))] as const,
        );
        await allSettledOrThrow(rules, ([receiver, memberRules]) =>
          installRules(ctx, undo, receiver, id, memberRules),
        );
      },
    });
  }
}

/** Drops packets matching `match` as they arrive, each with the probability (iptables' "0.1000"). */
export function randomDropRule(match: readonly string[], probability: string): Rule {
  return {
    table: 'filter',
    chain: 'INPUT',
    match: [...match, '-m', 'statistic', '--mode', 'random', '--probability', probability],
    jump: ['-j', 'DROP'],
  };
}
