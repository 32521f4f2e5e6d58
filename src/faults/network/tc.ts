import type { FaultContext, UndoStack } from '../fault.ts';
import { inNetns, mustInNetns } from '../host-command.ts';
import { runningNamespace } from './ingress-rules.ts';

/** Docker gives a container on one network a single interface with this name. */
export const MEMBER_INTERFACE = 'eth0';

/** Qdiscs the lab installs; none of them is ever a kernel default. */
export const LAB_QDISC_KINDS = ['netem', 'tbf', 'htb', 'prio'] as const;

/** `tc qdisc replace`: injecting twice replaces instead of stacking. */
export async function replaceRootQdisc(pid: number, qdisc: readonly string[]): Promise<void> {
  await mustInNetns(pid, 'tc', ['qdisc', 'replace', 'dev', MEMBER_INTERFACE, 'root', ...qdisc]);
}

/** Removes the root qdisc; the kernel puts its default back. Absent already counts as removed. */
export async function deleteRootQdisc(pid: number): Promise<void> {
  if (!(await labQdiscs(pid)).length) return;
  const outcome = await inNetns(pid, 'tc', ['qdisc', 'del', 'dev', MEMBER_INTERFACE, 'root']);
  if (!outcome.ok && (await labQdiscs(pid)).length > 0) {
    throw new Error(`${outcome.command} failed: ${outcome.stderr}`);
  }
}

/** The lab's qdiscs on the member's interface (`tc qdisc show` lines), empty when back to default. */
export async function labQdiscs(pid: number): Promise<string[]> {
  const listing = await mustInNetns(pid, 'tc', ['qdisc', 'show', 'dev', MEMBER_INTERFACE]);
  return listing
    .split('\n')
    .filter((line) => LAB_QDISC_KINDS.some((kind) => line.startsWith(`qdisc ${kind} `)));
}

/** Installs the qdisc as root on each target's interface; undone by deleting the root qdisc. */
export async function rootQdiscOn(
  ctx: FaultContext,
  undo: UndoStack,
  targets: readonly string[],
  qdisc: readonly string[],
): Promise<void> {
  for (const name of targets) {
    const { member, pid } = runningNamespace(ctx, name);
    undo.push(`remove qdisc on ${name}`, async () => {
      if (member.pid === pid) await deleteRootQdisc(pid);
    });
    await replaceRootQdisc(pid, qdisc);
  }
}
