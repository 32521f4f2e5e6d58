import type { EtcdMember } from '../../cluster/etcd-member.ts';
import { CLIENT_PORT } from '../../cluster/etcd-options.ts';
import { FaultError } from '../../errors.ts';
import type { HostCapabilities } from '../capabilities.ts';
import type { FaultContext, UndoStack } from '../fault.ts';
import { byReceiver, type Link } from './links.ts';
import { scopeBands, type TrafficScope } from './traffic-scope.ts';
import { deleteTaggedRules, insertRule, ruleTag, type Rule } from './iptables.ts';
import { MEMBER_INTERFACE } from './tc.ts';

/** Why network faults cannot run at all on this host, or undefined when the basics are there. */
export function networkBasicsMissing(caps: HostCapabilities): string | undefined {
  if (!caps.root && !caps.sudo) return 'needs root or passwordless sudo (nsenter, iptables, tc)';
  if (!caps.nsenter.available) return `nsenter: ${caps.nsenter.detail}`;
  return undefined;
}

/** A member whose network namespace exists now; faults act through its etcd's PID. */
export function runningNamespace(ctx: FaultContext, name: string): { member: EtcdMember; pid: number } {
  const member = ctx.cluster.member(name);
  if (member.pid === 0 || member.state === 'stopped' || member.state === 'removed') {
    throw new FaultError(`member ${name} is ${member.state}: it has no network namespace to act in`);
  }
  return { member, pid: member.pid };
}

/**
 * Inserts tagged rules in one member's namespace and pushes their removal. Rules with the same tag
 * are removed first (a leftover of an earlier injection is replaced, not stacked). The undo is a
 * no-op once the member has restarted: its old namespace, and the rules in it, are gone.
 */
export async function installRules(
  ctx: FaultContext,
  undo: UndoStack,
  receiver: string,
  faultId: string,
  rules: readonly Rule[],
): Promise<void> {
  const { member, pid } = runningNamespace(ctx, receiver);
  const tag = ruleTag(ctx.cluster.runId, faultId);
  await deleteTaggedRules(pid, tag);
  undo.push(`remove ${tag} rules in ${receiver}`, async () => {
    if (member.pid !== pid) return;
    await deleteTaggedRules(pid, tag);
  });
  for (const rule of rules) await insertRule(pid, tag, rule);
}

/** Source-address match for packets coming from a member. */
export function fromMember(ctx: FaultContext, name: string): string[] {
  const member = ctx.cluster.member(name);
  if (member.ip === '') throw new FaultError(`member ${name} has no address on the cluster network`);
  return ['-s', member.ip];
}

/** Packets from clients arriving at a member: TCP to its client port on its one interface. */
export const CLIENT_REQUESTS: readonly string[] = [
  '-i',
  MEMBER_INTERFACE,
  '-p',
  'tcp',
  '--dport',
  String(CLIENT_PORT),
];

/**
 * Where an ingress mechanism (NFQUEUE, iptables INPUT) catches a fault's traffic, by receiving
 * member: for the peer band, each receiver matches packets from its senders along `links`; for
 * the client band, each target matches its clients' requests.
 */
export function ingressMatches(
  ctx: FaultContext,
  links: readonly Link[],
  targets: readonly string[],
  scope: TrafficScope,
): Map<string, string[][]> {
  const matches = new Map<string, string[][]>();
  const add = (receiver: string, match: readonly string[]): void => {
    matches.set(receiver, [...(matches.get(receiver) ?? []), [...match]]);
  };
  const bands = scopeBands(scope);
  if (bands.includes('peers')) {
    for (const [receiver, senders] of byReceiver(links))
      for (const sender of senders) add(receiver, fromMember(ctx, sender));
  }
  if (bands.includes('clients')) for (const name of targets) add(name, CLIENT_REQUESTS);
  return matches;
}
