import { execa } from 'execa';
import { FaultError } from '../errors.ts';

const COMMAND_TIMEOUT_MS = 15_000;

export interface CommandOutcome {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** The command line, for error messages and records. */
  readonly command: string;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Runs a command that needs CAP_NET_ADMIN / CAP_SYS_ADMIN: directly as root, else via `sudo -n`
 * (a fault's check() has already refused when neither works).
 */
export async function runPrivileged(command: string, args: readonly string[]): Promise<CommandOutcome> {
  const [file, argv] = isRoot() ? [command, args] : ['sudo', ['-n', command, ...args]];
  const result = await execa(file, argv, { reject: false, timeout: COMMAND_TIMEOUT_MS, stdin: 'ignore' });
  return {
    ok: !result.failed,
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr:
      typeof result.stderr === 'string' && result.stderr !== ''
        ? result.stderr.trim()
        : (result.shortMessage ?? ''),
    command: [command, ...args].join(' '),
  };
}

export async function mustRunPrivileged(command: string, args: readonly string[]): Promise<string> {
  const outcome = await runPrivileged(command, args);
  if (!outcome.ok) throw new FaultError(`${outcome.command} failed: ${outcome.stderr}`);
  return outcome.stdout;
}

/** Runs a host binary inside the network namespace of process `pid` (a member's etcd). */
export function inNetns(pid: number, command: string, args: readonly string[]): Promise<CommandOutcome> {
  return runPrivileged('nsenter', ['-t', String(pid), '-n', command, ...args]);
}

export async function mustInNetns(pid: number, command: string, args: readonly string[]): Promise<string> {
  const outcome = await inNetns(pid, command, args);
  if (!outcome.ok) throw new FaultError(`${outcome.command} failed: ${outcome.stderr}`);
  return outcome.stdout;
}

/** True when `pid` still runs in the network namespace it had when a fault was applied there. */
export function sameProcess(memberPid: number, pidAtInjection: number): boolean {
  return memberPid !== 0 && memberPid === pidAtInjection;
}
