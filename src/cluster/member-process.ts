/**
 * Process control of one member: graceful stop, SIGKILL, start again with its data, cgroup
 * freeze and SIGSTOP. Each keeps the member's recorded state in step with its container, so the
 * cluster's status calls and the faults know what is running.
 */
import { BadInputError, ClusterError } from '../errors.ts';
import type { EtcdMember } from './etcd-member.ts';
import { isPortTakenError } from './member-host-port.ts';
import { MemberLogFollower } from './member-log-follower.ts';
import { READY_LOG_LINE } from './member-ready-wait.ts';

function requireRunning(member: EtcdMember, action: string): EtcdMember {
  if (member.state !== 'running') {
    throw new BadInputError(`cannot ${action} member ${member.name}: it is ${member.state}`);
  }
  return member;
}

/**
 * Graceful stop: SIGTERM, then SIGKILL after `graceSeconds`. A stopping etcd leader first
 * hands leadership to a follower, so this is a different fault from {@link killMember}.
 * Returns whether etcd exited by itself (exit code 0) within the grace period.
 */
export async function stopMember(
  member: EtcdMember,
  graceSeconds: number,
): Promise<{ exitedCleanly: boolean; exitCode: number }> {
  requireRunning(member, 'stop');
  await member.container.stop({ t: graceSeconds });
  member.state = 'stopped';
  member.pid = 0;
  const exitCode = (await member.container.inspect()).State.ExitCode;
  return { exitedCleanly: exitCode === 0, exitCode };
}

/**
 * SIGKILL: the process dies with no chance to hand over leadership or flush anything.
 * Resolves once the container has exited, with the `performance.now()` time the signal was
 * sent, which is when the fault took effect; `onSignalled` hears of that time at once,
 * before Docker's teardown of the container (which can take hundreds of ms).
 */
export async function killMember(
  member: EtcdMember,
  options: { readonly onSignalled?: (signalledAt: number) => void } = {},
): Promise<{ signalledAt: number }> {
  if (member.state === 'paused') await member.container.unpause(); // a frozen cgroup cannot be killed cleanly
  if (member.state === 'stopped') throw new BadInputError(`member ${member.name} is not running`);
  // Docker's kill API returns only after the container is fully torn down (hundreds of ms
  // under load), so signal the host PID directly when we may and time that instead.
  let signalledAt: number;
  try {
    process.kill(member.pid, 'SIGKILL');
    signalledAt = performance.now();
  } catch {
    await member.container.kill({ signal: 'SIGKILL' });
    signalledAt = performance.now();
  }
  options.onSignalled?.(signalledAt);
  await member.container.wait();
  member.state = 'stopped';
  member.pid = 0;
  return { signalledAt };
}

/**
 * Starts a stopped member again with its data. By default waits until it serves clients,
 * which needs a quorum; pass waitReady: false when restarting members of a cluster that has
 * none, then wait for a leader.
 */
export async function startMember(
  member: EtcdMember,
  networkName: string,
  options: { readonly waitReady?: boolean; readonly timeoutMs?: number } = {},
): Promise<void> {
  if (member.state !== 'stopped')
    throw new BadInputError(`member ${member.name} is ${member.state}, not stopped`);
  // The log keeps every start's lines: only a ready line after this start counts.
  const startedAtWallMs = Date.now();
  await member.container.start().catch((error: unknown) => {
    // Its clients know this port, so it cannot move; member-host-port.ts keeps lab processes off it.
    if (isPortTakenError(error))
      throw new ClusterError(
        `member ${member.name} cannot start again: its host port ${String(member.hostClientPort)} was taken by another process while it was down`,
        { cause: error },
      );
    throw error;
  });
  member.state = 'running';
  await member.refreshRuntime(networkName);
  if (options.waitReady ?? true) {
    const log = await MemberLogFollower.follow(member.container, member.name, {
      sinceWallMs: startedAtWallMs,
    });
    try {
      await log.waitFor(READY_LOG_LINE, 'ready', options.timeoutMs ?? 60_000);
    } finally {
      log.close();
    }
  }
}

/** Freezes the member's cgroup: the process is alive but gets no CPU (like a long GC pause or a hung VM). */
export async function pauseMember(member: EtcdMember): Promise<{ frozenAt: number }> {
  requireRunning(member, 'pause');
  await member.container.pause();
  member.state = 'paused';
  return { frozenAt: performance.now() };
}

export async function unpauseMember(member: EtcdMember): Promise<void> {
  if (member.state !== 'paused') throw new BadInputError(`member ${member.name} is not paused`);
  await member.container.unpause();
  member.state = 'running';
}

/** SIGSTOP/SIGCONT: like pause, but through the process's own signal state rather than the cgroup. */
export async function signalStopMember(member: EtcdMember): Promise<void> {
  requireRunning(member, 'SIGSTOP');
  await member.container.kill({ signal: 'SIGSTOP' });
  member.state = 'signal-stopped';
}

export async function signalContinueMember(member: EtcdMember): Promise<void> {
  if (member.state !== 'signal-stopped') throw new BadInputError(`member ${member.name} is not SIGSTOPped`);
  await member.container.kill({ signal: 'SIGCONT' });
  member.state = 'running';
}
