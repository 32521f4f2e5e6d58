import { CLIENT_PORT } from '../../cluster/etcd-options.ts';
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
  type UndoStack,
} from '../fault.ts';
import { clusterView, resolveTargetNames, seededRandom, type TargetSpec } from '../targets.ts';
import { ingressMatches, installRules, networkBasicsMissing, runningNamespace } from './ingress-rules.ts';
import type { Rule } from './iptables.ts';
import { egressLinks } from './links.ts';
import { allocateQueue, startDelayHelper } from './nfq-delay-process.ts';
import { claimNetemOrGuard, tcShapingMissing } from './member-shaping.ts';
import { requireScope, type TrafficScope } from './traffic-scope.ts';

export interface DelayOptions {
  /** Whose outgoing packets are delayed. */
  readonly target: TargetSpec;
  readonly delayMs: number;
  /** Each packet gets delayMs ± up to jitterMs (uniform). Default 0. */
  readonly jitterMs?: number;
  /** Only packets to these members (a directed link, e.g. m1→m2; peer traffic only). Default: every member. */
  readonly to?: TargetSpec;
  /** Which traffic of the target's: peers (default), clients or all (see traffic-scope.ts). */
  readonly scope?: TrafficScope;
  /** Seeds the jitter, for reproducible runs (nfq-delay only: netem has no seed, results say so). */
  readonly seed?: number;
}

export const MAX_DELAY_MS = 60_000;

/**
 * tc netem in the target's composed tc tree (member-shaping.ts), on the bands of the scope, where
 * the kernel has netem and htb. Otherwise the nfq-delay helper on NFQUEUE, at the *receiving*
 * side: held packets on the sender's own egress count against its socket buffers and throttle
 * bulk TCP to a trickle, while holding them at each receiver's PREROUTING gives the same latency
 * without that. So "delay m1's peer traffic" becomes "every peer delays what arrives from m1",
 * and "delay m1's client traffic" holds the clients' requests arriving at m1. A directed link
 * (`to`) always takes the helper: netem would need a class per destination.
 */
export function chooseDelayMechanism(
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
      detail: `tc netem delay on the target's ${scope} traffic (egress, htb-classified by port)`,
    };
  }
  const reasons: string[] = [];
  if (!caps.iptables.available) reasons.push(`iptables: ${caps.iptables.detail}`);
  if (!caps.nfqueue.available) reasons.push(`NFQUEUE: ${caps.nfqueue.detail}`);
  if (!caps.nfqDelayHelper.available) reasons.push(`nfq-delay helper: ${caps.nfqDelayHelper.detail}`);
  const why = directed ? 'a directed link; netem would need per-destination classes' : tc;
  if (reasons.length === 0) {
    const where = {
      peers: "in each receiver's namespace",
      clients: `for TCP to port ${CLIENT_PORT} arriving at the target`,
      all: `in each receiver's namespace, and for TCP to port ${CLIENT_PORT} arriving at the target`,
    }[scope];
    return {
      available: true,
      mechanism: scope === 'clients' ? 'nfq-delay-client-ingress' : 'nfq-delay-ingress',
      detail: `nfq-delay helper on NFQUEUE ${where} (${why ?? 'tc netem unavailable'})`,
    };
  }
  if (!directed && tc !== undefined) reasons.unshift(tc);
  return { available: false, mechanism: null, detail: `no delay mechanism: ${reasons.join('; ')}` };
}

export class DelayFault implements Fault {
  readonly name: string = 'delay';
  protected readonly scope: TrafficScope;

  constructor(readonly options: DelayOptions) {
    requireNumber('delayMs', options.delayMs, 0, MAX_DELAY_MS, { integer: true, unit: ' ms' });
    requireNumber('jitterMs', options.jitterMs ?? 0, 0, MAX_DELAY_MS, { integer: true, unit: ' ms' });
    this.scope = requireScope(options.scope, options.to !== undefined);
  }

  describe(): FaultDescription {
    const { target, delayMs, jitterMs = 0, to } = this.options;
    return {
      fault: this.name,
      target,
      delayMs,
      jitterMs,
      ...(to === undefined ? {} : { to }),
      ...(this.options.scope === undefined || this.name !== 'delay' ? {} : { scope: this.scope }),
    };
  }

  check(caps: HostCapabilities): FaultCheck {
    return chooseDelayMechanism(caps, this.options.to !== undefined, this.scope);
  }

  async inject(ctx: FaultContext): Promise<FaultHandle> {
    const { target, to, delayMs, jitterMs = 0 } = this.options;
    const view = await clusterView(ctx, to === undefined ? [target] : [target, to]);
    const random = seededRandom(ctx.seed ?? 1);
    const targets = resolveTargetNames(target, view, random);
    const receivers = to === undefined ? undefined : resolveTargetNames(to, view, random);
    const links = egressLinks(targets, view.members, receivers);
    if (links.length === 0) throw new BadInputError(`${this.name}: target and "to" leave no link to delay`);
    const mechanism = requireAvailable(this, await capabilitiesOf(ctx));
    const id = faultId(
      this.name,
      targets.join('+'),
      ...(receivers ? ['to', receivers.join('+')] : []),
      ...(this.scope === 'peers' || this.name !== 'delay' ? [] : [this.scope]),
    );
    const claim = {
      scope: this.scope,
      impairment: { delayMs, jitterMs },
      viaNetem: mechanism === 'tc-netem',
    };
    return applyFault(ctx, this.describe(), {
      mechanism,
      targets,
      faultId: id,
      apply: async (undo, details) => {
        if (await claimNetemOrGuard(ctx, undo, details, targets, id, claim)) return;
        const matches = ingressMatches(ctx, links, targets, this.scope);
        await delayAtReceivers(ctx, undo, details, id, [...matches], this.options);
      },
    });
  }
}

/**
 * Starts one nfq-delay helper in each receiver's namespace and queues to it the packets
 * arriving on PREROUTING that match any of that receiver's iptables matches.
 */
export async function delayAtReceivers(
  ctx: FaultContext,
  undo: UndoStack,
  details: Record<string, unknown>,
  id: string,
  matchesByReceiver: readonly (readonly [receiver: string, matches: readonly string[][]])[],
  options: Pick<DelayOptions, 'delayMs' | 'jitterMs' | 'seed'>,
): Promise<void> {
  const helpers: { member: string; pid: number; queue: number; matches: string[] }[] = [];
  details.helpers = helpers;
  await allSettledOrThrow(matchesByReceiver, async ([receiver, matches], index) => {
    const { pid } = runningNamespace(ctx, receiver);
    const queue = allocateQueue();
    const helper = await startDelayHelper({
      runId: ctx.cluster.runId,
      faultId: id,
      netnsPid: pid,
      queue,
      delayMs: options.delayMs,
      jitterMs: options.jitterMs ?? 0,
      ...(options.seed === undefined ? {} : { seed: options.seed + index }),
    });
    // Pushed before the rules: undo removes the rules first, then releases what the helper holds.
    undo.push(`stop nfq-delay ${helper.pid} in ${receiver}`, async () => {
      await helper.stop();
    });
    helpers.push({ member: receiver, pid: helper.pid, queue, matches: matches.map((m) => m.join(' ')) });
    await installRules(
      ctx,
      undo,
      receiver,
      id,
      matches.map((match) => queueRule(match, queue)),
    );
  });
}

/**
 * Hands packets matching `match` to NFQUEUE `queue` as they arrive, before routing; with
 * --queue-bypass they pass undelayed when no helper listens (it died, or was stopped first).
 */
export function queueRule(match: readonly string[], queue: number): Rule {
  return {
    table: 'mangle',
    chain: 'PREROUTING',
    match,
    jump: ['-j', 'NFQUEUE', '--queue-num', String(queue), '--queue-bypass'],
  };
}
