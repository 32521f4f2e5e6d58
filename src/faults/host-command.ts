import { execa } from 'execa';
import { BadInputError, FaultError } from '../errors.ts';

const COMMAND_TIMEOUT_MS = 15_000;

export interface CommandOutcome {
  readonly ok: boolean;
  readonly stdout: string;
  /** stderr, trimmed; the spawn error when there was none. */
  readonly stderr: string;
  /** The command line, for error messages and records. */
  readonly command: string;
  /** One line saying why it failed (timeout, command not found, stderr, exit code); '' when ok. */
  readonly reason: string;
}

export interface CommandOptions {
  /** Killed after this long. Default 15 s. */
  readonly timeoutMs?: number;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Runs a host command without privileges (stdin closed); never rejects, the outcome says how it went. */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandOutcome> {
  const timeoutMs = options.timeoutMs ?? COMMAND_TIMEOUT_MS;
  const result = await execa(command, args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const rawStderr = typeof result.stderr === 'string' ? result.stderr : '';
  const stderr = rawStderr !== '' ? rawStderr.trim() : (result.shortMessage ?? '');
  const outcome = { stdout, stderr, command: [command, ...args].join(' ') };
  if (!result.failed) return { ok: true, ...outcome, reason: '' };
  const spawnError = result.originalMessage ?? result.shortMessage ?? '';
  let reason: string;
  if (result.timedOut) reason = `timed out after ${timeoutMs} ms`;
  else if (result.exitCode === undefined && /ENOENT/.test(spawnError))
    reason = `${command}: command not found`;
  else if (rawStderr.trim() !== '') reason = oneLine(rawStderr);
  else reason = oneLine(spawnError || `exit code ${result.exitCode}`);
  return { ok: false, ...outcome, reason };
}

/** The first three non-empty lines of a command's output, joined with " | ". */
function oneLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.slice(0, 3).join(' | ');
}

export const PRIVILEGE_ENV = 'ETCD_LAB_PRIVILEGE';

/**
 * How privileged commands run here: directly as root, else through `sudo -n`. ETCD_LAB_PRIVILEGE=sudo
 * takes the sudo route even as root: how the tests exercise it (sudo between the lab and its
 * helpers) on a CI machine that runs them as root.
 */
export function privilegeRoute(): 'root' | 'sudo' {
  const wanted = process.env[PRIVILEGE_ENV];
  if (wanted !== undefined && wanted !== '' && wanted !== 'sudo')
    throw new BadInputError(`${PRIVILEGE_ENV} must be "sudo" or unset, got "${wanted}"`);
  return isRoot() && wanted !== 'sudo' ? 'root' : 'sudo';
}

/** The command line that runs `command` privileged here: itself as root, else behind `sudo -n`. */
export function privilegedCommandLine(command: string, args: readonly string[]): [string, string[]] {
  return privilegeRoute() === 'root' ? [command, [...args]] : ['sudo', ['-n', command, ...args]];
}

/**
 * Runs a command that needs CAP_NET_ADMIN / CAP_SYS_ADMIN: directly as root, else via `sudo -n`
 * (a fault's check() has already refused when neither works).
 */
export async function runPrivileged(command: string, args: readonly string[]): Promise<CommandOutcome> {
  const [file, fileArgs] = privilegedCommandLine(command, args);
  const outcome = await runCommand(file, fileArgs);
  // Named without the sudo in front: records and messages say what was run, not how.
  return { ...outcome, command: [command, ...args].join(' ') };
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
