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
import { fromMember, installRules, networkBasicsMissing, runningNamespace } from './ingress-rules.ts';
import { byReceiver, egressLinks, type Link } from './links.ts';
import { allocateQueue, startDelayHelper } from './nfq-delay-process.ts';
import { rootQdiscOn } from './tc.ts';

export interface DelayOptions {
  /** Whose outgoing packets are delayed. */
  readonly target: TargetSpec;
  readonly delayMs: number;
  /** Each packet gets delayMs ± up to jitterMs (uniform). Default 0. */
  readonly jitterMs?: number;
  /**
   * Only packets to these members (a directed link, e.g. m1→m2). Default: to every member, and with
   * tc netem also to clients.
   */
  readonly to?: TargetSpec;
  /** Seeds the jitter, for reproducible runs (nfq-delay only). */
  readonly seed?: number;
}

export const MAX_DELAY_MS = 60_000;

/**
 * tc netem on the target's interface where the kernel has it (all its egress, clients included).
 * Otherwise the nfq-delay helper on NFQUEUE — on the *receiving* side: held packets on the
 * sender's own egress count against its socket buffers and throttle bulk TCP to a trickle, while
 * holding them at each receiver's PREROUTING gives the same latency without that. So "delay m1's
 * egress" becomes "every peer delays what arrives from m1"; replies from m1 to clients on the host
 * are not delayed by this mechanism (the host's namespace is not touched).
 */
export function chooseDelayMechanism(caps: HostCapabilities, directed: boolean): FaultCheck {
  const missing = networkBasicsMissing(caps);
  if (missing !== undefined) return { available: false, mechanism: null, detail: missing };
  if (!directed && caps.tcNetem.available) {
    return { available: true, mechanism: 'tc-netem', detail: 'tc netem delay on the target interface' };
  }
  const reasons: string[] = [];
  if (!caps.iptables.available) reasons.push(`iptables: ${caps.iptables.detail}`);
  if (!caps.nfqueue.available) reasons.push(`NFQUEUE: ${caps.nfqueue.detail}`);
  if (!caps.nfqDelayHelper.available) reasons.push(`nfq-delay helper: ${caps.nfqDelayHelper.detail}`);
  if (reasons.length === 0) {
    return {
      available: true,
      mechanism: 'nfq-delay-ingress',
      detail: `nfq-delay helper on NFQUEUE in each receiver's namespace${
        directed
          ? ' (a directed link; netem would need per-destination classes)'
          : ` (${caps.tcNetem.detail})`
      }`,
    };
  }
  if (!directed) reasons.unshift(`tc netem: ${caps.tcNetem.detail}`);
  return { available: false, mechanism: null, detail: `no delay mechanism: ${reasons.join('; ')}` };
}

export class DelayFault implements Fault {
  readonly name = 'delay';

  constructor(readonly options: DelayOptions) {
    requireNumber('delayMs', options.delayMs, 0, MAX_DELAY_MS, { integer: true, unit: ' ms' });
    requireNumber('jitterMs', options.jitterMs ?? 0, 0, MAX_DELAY_MS, { integer: true, unit: ' ms' });
  }

  describe(): FaultDescription {
    const { target, delayMs, jitterMs = 0, to } = this.options;
    return { fault: this.name, target, delayMs, jitterMs, ...(to === undefined ? {} : { to }) };
  }

  check(caps: HostCapabilities): FaultCheck {
    return chooseDelayMechanism(caps, this.options.to !== undefined);
  }

  async inject(ctx: FaultContext): Promise<FaultHandle> {
    const { target, to, delayMs, jitterMs = 0 } = this.options;
    const view = await clusterView(ctx, to === undefined ? [target] : [target, to]);
    const random = seededRandom(ctx.seed ?? 1);
    const targets = resolveTargetNames(target, view, random);
    const receivers = to === undefined ? undefined : resolveTargetNames(to, view, random);
    const links = egressLinks(targets, view.members, receivers);
    if (links.length === 0) throw new BadInputError('delay: target and "to" leave no link to delay');
    const mechanism = requireAvailable(this, await capabilitiesOf(ctx));
    const id = faultId('delay', targets.join('+'), ...(receivers ? ['to', receivers.join('+')] : []));
    return applyFault(ctx, this.describe(), {
      mechanism,
      targets,
      faultId: id,
      apply: (undo, details) =>
        mechanism === 'tc-netem'
          ? netemDelay(ctx, undo, details, targets, delayMs, jitterMs)
          : ingressDelay(ctx, undo, details, id, links, this.options),
    });
  }
}

async function netemDelay(
  ctx: FaultContext,
  undo: UndoStack,
  details: Record<string, unknown>,
  targets: readonly string[],
  delayMs: number,
  jitterMs: number,
): Promise<void> {
  const qdisc = ['netem', 'delay', `${delayMs}ms`, ...(jitterMs > 0 ? [`${jitterMs}ms`] : [])];
  details.qdisc = qdisc.join(' ');
  await rootQdiscOn(ctx, undo, targets, qdisc);
}

async function ingressDelay(
  ctx: FaultContext,
  undo: UndoStack,
  details: Record<string, unknown>,
  id: string,
  links: readonly Link[],
  options: DelayOptions,
): Promise<void> {
  const matches = [...byReceiver(links)].map(
    ([receiver, senders]) => [receiver, senders.map((sender) => fromMember(ctx, sender))] as const,
  );
  await delayAtReceivers(ctx, undo, details, id, matches, options);
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
      matches.map((match) => ({
        table: 'mangle',
        chain: 'PREROUTING',
        match,
        jump: ['-j', 'NFQUEUE', '--queue-num', String(queue), '--queue-bypass'],
      })),
    );
  });
}
