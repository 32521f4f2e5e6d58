import { mustInNetns } from '../host-command.ts';

/** Docker gives a container on one network a single interface with this name. */
export const MEMBER_INTERFACE = 'eth0';

/** Qdiscs the lab installs; none of them is ever a kernel default. */
export const LAB_QDISC_KINDS = ['netem', 'tbf', 'htb', 'prio'] as const;

/** The lab's qdiscs on the member's interface (`tc qdisc show` lines), empty when back to default. */
export async function labQdiscs(pid: number): Promise<string[]> {
  const listing = await mustInNetns(pid, 'tc', ['qdisc', 'show', 'dev', MEMBER_INTERFACE]);
  return listing
    .split('\n')
    .filter((line) => LAB_QDISC_KINDS.some((kind) => line.startsWith(`qdisc ${kind} `)));
}
