import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Every container, network and volume the lab creates carries these labels. They are how
 * cleanup finds what a run made, and how a later run tells whether the run that made
 * something is still alive (pid + that pid's start time, so a reused pid is not mistaken
 * for the owner).
 */
export const LABEL = {
  lab: 'etcd-lab',
  run: 'etcd-lab.run',
  pid: 'etcd-lab.pid',
  pidStart: 'etcd-lab.pid-start',
  host: 'etcd-lab.host',
  member: 'etcd-lab.member',
  /** Set on clusters made by `etcd-lab up`: they outlive the process that made them. */
  persistent: 'etcd-lab.persistent',
} as const;

export function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** The kernel's start time of a process (clock ticks since boot), or undefined if it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may contain spaces, so count from its closing paren.
    const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return afterName[19];
  } catch {
    return undefined;
  }
}

export function runLabels(
  runId: string,
  options: { readonly persistent?: boolean } = {},
): Record<string, string> {
  return {
    ...(options.persistent ? { [LABEL.persistent]: 'true' } : {}),
    [LABEL.lab]: 'true',
    [LABEL.run]: runId,
    [LABEL.pid]: String(process.pid),
    [LABEL.pidStart]: processStartTime(process.pid) ?? '',
    [LABEL.host]: hostname(),
  };
}

/** True when the process that created a labelled resource is still running here (or it is meant to outlive it). */
export function ownerAlive(labels: Record<string, string> | undefined): boolean {
  if (labels?.[LABEL.persistent] === 'true') return true; // kept until `etcd-lab down` / `clean --all`
  const pid = Number(labels?.[LABEL.pid]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (labels?.[LABEL.host] !== hostname()) return true; // another machine's run: not ours to judge
  const start = processStartTime(pid);
  return start !== undefined && start === labels[LABEL.pidStart];
}
