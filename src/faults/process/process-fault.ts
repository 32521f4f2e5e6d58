import type { EtcdMember } from '../../cluster/etcd-member.ts';
import { BadInputError } from '../../errors.ts';
import type { HostCapabilities } from '../capabilities.ts';
import {
  applyFault,
  faultId,
  requireAvailable,
  capabilitiesOf,
  requireNumber,
  type Fault,
  type FaultCheck,
  type FaultContext,
  type FaultDescription,
  type FaultHandle,
} from '../fault.ts';
import { clusterView, membersByName, resolveTargetNames, seededRandom, type TargetSpec } from '../targets.ts';

/**
 * - `kill`: SIGKILL — no chance to hand over leadership or flush anything; heal starts it again.
 * - `stop`: SIGTERM (SIGKILL after the grace period) — a stopping etcd leader first transfers
 *   leadership, so this is a different fault from `kill`; heal starts it again.
 * - `pause`: cgroup freezer (docker pause) — alive but gets no CPU, like a hung VM; heal unpauses.
 * - `sigstop`: SIGSTOP — the same through the process's own signal state; heal sends SIGCONT.
 * - `restart`: graceful stop and start; over once injected (heal has nothing to undo).
 */
export type ProcessAction = 'kill' | 'stop' | 'pause' | 'sigstop' | 'restart';
export const PROCESS_ACTIONS: readonly ProcessAction[] = ['kill', 'stop', 'pause', 'sigstop', 'restart'];

export interface ProcessFaultOptions {
  readonly action: ProcessAction;
  readonly target: TargetSpec;
  /** For stop and restart: seconds between SIGTERM and SIGKILL. Default 10. */
  readonly graceSeconds?: number;
}

const MECHANISMS: Record<ProcessAction, string> = {
  kill: 'sigkill', // sent to the host PID (Docker's kill API waits for the teardown)
  stop: 'docker-stop-sigterm',
  pause: 'cgroup-freezer',
  sigstop: 'sigstop-sigcont',
  restart: 'docker-stop-start',
};

export class ProcessFault implements Fault {
  readonly name: string;

  constructor(readonly options: ProcessFaultOptions) {
    if (!PROCESS_ACTIONS.includes(options.action)) {
      throw new BadInputError(
        `process action must be one of ${PROCESS_ACTIONS.join(', ')}, got "${String(options.action)}"`,
      );
    }
    if (options.graceSeconds !== undefined)
      requireNumber('graceSeconds', options.graceSeconds, 0, 600, { integer: true, unit: ' s' });
    this.name = options.action;
  }

  describe(): FaultDescription {
    return { fault: this.name, ...this.options };
  }

  check(caps: HostCapabilities): FaultCheck {
    if (this.options.action === 'pause' && !caps.cgroupFreezer.available) {
      return { available: false, mechanism: null, detail: `cgroup freezer: ${caps.cgroupFreezer.detail}` };
    }
    return { available: true, mechanism: MECHANISMS[this.options.action], detail: 'through the Docker API' };
  }

  async inject(ctx: FaultContext): Promise<FaultHandle> {
    const view = await clusterView(ctx, [this.options.target]);
    const targets = resolveTargetNames(this.options.target, view, seededRandom(ctx.seed ?? 1));
    const members = membersByName(ctx, targets);
    for (const member of members) {
      if (member.state !== 'running') {
        throw new BadInputError(`cannot ${this.options.action} member ${member.name}: it is ${member.state}`);
      }
    }
    const mechanism = requireAvailable(this, await capabilitiesOf(ctx));
    const { cluster } = ctx;
    const grace = this.options.graceSeconds ?? 10;
    return applyFault(ctx, this.describe(), {
      mechanism,
      targets,
      faultId: faultId(this.options.action, targets.join('+')),
      apply: async (undo, _details, tookEffect) => {
        // All targets at once: killing a majority one by one would be a different experiment.
        await Promise.all(
          members.map(async (member: EtcdMember) => {
            switch (this.options.action) {
              case 'kill':
              case 'stop':
                if (this.options.action === 'kill') {
                  await cluster.kill(member, {
                    onSignalled: (at) => tookEffect(ctx.clock.fromPerformanceNow(at)),
                  });
                } else {
                  // A stopping leader starts handing over on SIGTERM, sent at once.
                  tookEffect(ctx.clock.now());
                  await cluster.stop(member, grace);
                }
                // Not waiting for "ready": with a majority down no restarted member is ready on its own.
                undo.push(`start ${member.name}`, async () => {
                  if (member.state === 'stopped') await cluster.start(member, { waitReady: false });
                });
                return;
              case 'pause':
                await cluster.pause(member);
                undo.push(`unpause ${member.name}`, async () => {
                  if (member.state === 'paused') await cluster.unpause(member);
                });
                return;
              case 'sigstop':
                await cluster.signalStop(member);
                undo.push(`SIGCONT ${member.name}`, async () => {
                  if (member.state === 'signal-stopped') await cluster.signalContinue(member);
                });
                return;
              case 'restart':
                tookEffect(ctx.clock.now());
                await cluster.restart(member, grace);
                return;
            }
          }),
        );
      },
    });
  }
}

export const kill = (target: TargetSpec): ProcessFault => new ProcessFault({ action: 'kill', target });
export const stop = (target: TargetSpec, graceSeconds?: number): ProcessFault =>
  new ProcessFault({ action: 'stop', target, ...(graceSeconds === undefined ? {} : { graceSeconds }) });
export const pause = (target: TargetSpec): ProcessFault => new ProcessFault({ action: 'pause', target });
export const sigstop = (target: TargetSpec): ProcessFault => new ProcessFault({ action: 'sigstop', target });
export const restart = (target: TargetSpec): ProcessFault => new ProcessFault({ action: 'restart', target });
