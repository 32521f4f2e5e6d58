import { BadInputError, FaultError } from '../../errors.ts';
import type { HostCapabilities } from '../capabilities.ts';
import {
  applyFault,
  faultId,
  requireNumber,
  type Fault,
  type FaultCheck,
  type FaultContext,
  type FaultDescription,
  type FaultHandle,
} from '../fault.ts';
import { resolveTargetNames, seededRandom, validateTargetSpec } from '../targets.ts';

export interface MoveLeaderOptions {
  /**
   * The member that becomes leader (the transferee): `follower` (one follower, picked with the
   * run's seed when the fault is injected) or a member name such as `m2`.
   */
  readonly target: string;
  /**
   * How long etcd may take to hand leadership over before the call fails. Default: the fault
   * context's leaderTimeoutMs (10 s). Raft itself gives up a transfer after one election timeout.
   */
  readonly timeoutMs?: number;
}

/** Roles a transfer can go to: the leader is already leader, and a transfer has one transferee. */
export const MOVE_LEADER_ROLES: readonly string[] = ['follower'];
export const MOVE_LEADER_MECHANISM = 'etcd-move-leader';

/**
 * Leadership transfer through etcd's Maintenance.MoveLeader API (what `etcdctl move-leader` and
 * a stopping leader do): the leader brings the transferee up to date, then tells it to campaign
 * at once (raft's MsgTimeoutNow). Nobody waits out an election timeout, so the term goes up by
 * exactly one and the cluster is never without a leader for long — an operator's planned
 * handover, the gentle counterpart of killing the leader.
 *
 * Heal does nothing: a transfer is over once it is done. The cluster is healthy, with a different
 * leader, exactly as after any election; moving leadership back would be a second transfer (a new
 * term), i.e. another fault, not the undoing of this one.
 */
export class MoveLeaderFault implements Fault {
  readonly name = 'move-leader';

  constructor(readonly options: MoveLeaderOptions) {
    const target: unknown = options.target;
    if (
      typeof target !== 'string' ||
      target === '' ||
      target === 'leader' ||
      /^(minority|majority|all)$/.test(target)
    ) {
      throw new BadInputError(
        `move-leader target must be one member to hand leadership to: ${MOVE_LEADER_ROLES.join(', ')} or a member name (m1…), got ${JSON.stringify(target)}`,
      );
    }
    if (options.timeoutMs !== undefined)
      requireNumber('move-leader timeoutMs', options.timeoutMs, 1, 600_000, { integer: true, unit: ' ms' });
  }

  describe(): FaultDescription {
    return { fault: this.name, ...this.options };
  }

  /** Any host can: it is one gRPC call to the leader, nothing on the host changes. */
  check(_caps: HostCapabilities): FaultCheck {
    return {
      available: true,
      mechanism: MOVE_LEADER_MECHANISM,
      detail: "etcd's Maintenance.MoveLeader API, sent to the leader",
    };
  }

  async inject(ctx: FaultContext): Promise<FaultHandle> {
    const { cluster } = ctx;
    const members = cluster.members.map((m) => m.name);
    validateTargetSpec(this.options.target, members);
    const timeoutMs = this.options.timeoutMs ?? ctx.leaderTimeoutMs ?? 10_000;
    // MoveLeader is refused by anyone but the leader, so the leader is needed even for a named target.
    const { leader, term } = await cluster.waitForStableLeader({ timeoutMs });
    const [name] = resolveTargetNames(
      this.options.target,
      { members, leader: leader.name },
      seededRandom(ctx.seed ?? 1),
    );
    if (name === undefined) throw new BadInputError('move-leader: the target names no member');
    const transferee = cluster.member(name);
    if (transferee.state !== 'running') {
      throw new BadInputError(`cannot move leadership to member ${name}: it is ${transferee.state}`);
    }
    return applyFault(ctx, this.describe(), {
      mechanism: MOVE_LEADER_MECHANISM,
      targets: [name],
      faultId: faultId('move-leader', name),
      apply: async (_undo, details) => {
        details.from = leader.name;
        details.termBefore = term;
        if (transferee === leader) {
          // etcd treats a transfer to the leader itself as done; so does the lab, and says so.
          details.transferred = false;
          return;
        }
        const client = cluster.memberClient(leader, { callTimeoutMs: timeoutMs });
        try {
          // etcd answers once the transferee is leader (it polls every heartbeat until then).
          await client.maintenance.moveLeader({ targetID: transferee.memberId });
        } catch (error) {
          throw new FaultError(
            `moving leadership from ${leader.name} to ${name} failed: ${(error as Error).message}`,
            { cause: error },
          );
        } finally {
          client.close();
        }
        details.transferred = true;
        // Nothing pushed on the undo stack: see the class comment.
      },
    });
  }
}

export const moveLeader = (target: string): MoveLeaderFault => new MoveLeaderFault({ target });
