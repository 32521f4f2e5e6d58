import type { HostCapabilities } from '../capabilities.ts';
import {
  allSettledOrThrow,
  applyFault,
  capabilitiesOf,
  faultId,
  requireAvailable,
  type Fault,
  type FaultCheck,
  type FaultContext,
  type FaultDescription,
  type FaultHandle,
} from '../fault.ts';
import { clusterView, seededRandom, type TargetSpec } from '../targets.ts';
import { fromMember, installRules, networkBasicsMissing } from './ingress-rules.ts';
import {
  byReceiver,
  REST,
  resolvePartition,
  shapeSpecs,
  validatePartitionShape,
  type GroupSpec,
  type PartitionShape,
} from './links.ts';

/**
 * Drops on the receiving side only (INPUT of the member a blocked packet was going to): a blocked
 * link then looks like a black hole to the sender — its connection attempts time out, as across a
 * real partition, instead of failing at once as a DROP on its own OUTPUT would make them.
 */
export function choosePartitionMechanism(caps: HostCapabilities): FaultCheck {
  const missing = networkBasicsMissing(caps);
  if (missing !== undefined) return { available: false, mechanism: null, detail: missing };
  return caps.iptables.available
    ? {
        available: true,
        mechanism: 'iptables-drop-ingress',
        detail: "iptables DROP in each receiver's INPUT",
      }
    : { available: false, mechanism: null, detail: `iptables: ${caps.iptables.detail}` };
}

export interface PartitionOptions {
  /**
   * Which members the record names as the fault's targets: every member the shape involves
   * (default), or only the first group's — for isolate, the members cut off. Runners read the
   * targets to know whether the leader was hit and whose logs miss the election.
   */
  readonly targets?: 'all' | 'first-group';
}

export class PartitionFault implements Fault {
  readonly name = 'partition';

  constructor(
    readonly shape: PartitionShape,
    private readonly options: PartitionOptions = {},
  ) {}

  describe(): FaultDescription {
    return { fault: this.name, ...this.shape };
  }

  check(caps: HostCapabilities): FaultCheck {
    return choosePartitionMechanism(caps);
  }

  async inject(ctx: FaultContext): Promise<FaultHandle> {
    validatePartitionShape(
      this.shape,
      ctx.cluster.members.map((m) => m.name),
    );
    const specs = shapeSpecs(this.shape).filter((s): s is TargetSpec => s !== REST);
    const view = await clusterView(ctx, specs);
    const { groups, blocked } = resolvePartition(this.shape, view, seededRandom(ctx.seed ?? 1));
    const mechanism = requireAvailable(this, await capabilitiesOf(ctx));
    const id = faultId('partition', this.shape.kind, groups.map((g) => g.join('+')).join('|'));
    return applyFault(ctx, this.describe(), {
      mechanism,
      targets: this.options.targets === 'first-group' ? (groups[0] ?? []) : groups.flat(),
      faultId: id,
      apply: async (undo, details) => {
        details.groups = groups;
        details.blocked = blocked;
        // Every receiver at once: a partition should appear at one moment, not member by member.
        await allSettledOrThrow([...byReceiver(blocked)], ([receiver, senders]) =>
          installRules(
            ctx,
            undo,
            receiver,
            id,
            senders.map((sender) => ({
              table: 'filter',
              chain: 'INPUT',
              match: fromMember(ctx, sender),
              jump: ['-j', 'DROP'],
            })),
          ),
        );
      },
    });
  }
}

/** Cuts `target` off from every other member, both ways; its targets are the members cut off. */
export const isolate = (target: TargetSpec): PartitionFault =>
  new PartitionFault({ kind: 'split', groups: [target, REST] }, { targets: 'first-group' });

export const split = (
  groups: readonly GroupSpec[],
  options: { readonly allowUnlisted?: boolean } = {},
): PartitionFault => new PartitionFault({ kind: 'split', groups, ...options });

/** Packets from `from` never reach `to`; `to` still reaches `from`. */
export const oneWay = (from: TargetSpec, to: TargetSpec): PartitionFault =>
  new PartitionFault({ kind: 'one-way', from, to });

/** The two sides cannot reach each other; the bridge members reach both. */
export const bridge = (
  left: GroupSpec,
  right: GroupSpec,
  bridgeMembers: TargetSpec,
  options: { readonly allowUnlisted?: boolean } = {},
): PartitionFault =>
  new PartitionFault({ kind: 'bridge', sides: [left, right], bridge: bridgeMembers, ...options });
