/**
 * Membership changes through etcd's cluster API: remove a member and delete its container, or
 * add one and launch it with --initial-cluster-state=existing.
 */
import pRetry from 'p-retry';
import { BadInputError } from '../errors.ts';
import type { ClusterClients } from './cluster-clients.ts';
import type { EtcdMember } from './etcd-member.ts';
import { PEER_PORT } from './etcd-options.ts';
import type { MemberLauncher } from './member-launcher.ts';

/** Removes `member` (etcd member remove, asked of the other running members) and deletes its container. */
export async function removeMember(
  clients: ClusterClients,
  member: EtcdMember,
  members: readonly EtcdMember[],
): Promise<void> {
  const others = members.filter((m) => m !== member && m.isUp);
  if (others.length === 0) throw new BadInputError('cannot remove the last running member');
  const client = clients.create(others.map((m) => m.clientEndpoint));
  await retryWhileUnhealthy(() => client.cluster.memberRemove({ ID: member.memberId }));
  await member.container.remove({ force: true });
  member.state = 'removed';
  member.pid = 0;
}

/** Adds a fresh member, numbered after every member so far (removed ones included), and launches it. */
export async function addMember(
  clients: ClusterClients,
  launcher: MemberLauncher,
  members: readonly EtcdMember[],
  everMembers: readonly EtcdMember[],
): Promise<EtcdMember> {
  const used = everMembers.map((m) => Number(m.name.slice(1)));
  const name = `m${Math.max(0, ...used) + 1}`;
  const peerUrl = `http://${launcher.containerName(name)}:${PEER_PORT}`;
  const running = members.filter((m) => m.isUp);
  const client = clients.create(running.map((m) => m.clientEndpoint));
  await retryWhileUnhealthy(() => client.cluster.memberAdd({ peerURLs: [peerUrl] }));
  const initialCluster = [...members.map((m) => `${m.name}=${m.peerUrl}`), `${name}=${peerUrl}`].join(',');
  return launcher.launch(name, initialCluster, 'existing');
}

/**
 * etcd refuses membership changes ("unhealthy cluster") until enough members have been
 * connected to the leader for its health interval (5 s), e.g. just after a restart. That is
 * a precondition to wait out, not a failure.
 */
function retryWhileUnhealthy<T>(change: () => Promise<T>): Promise<T> {
  return pRetry(change, {
    retries: 30,
    minTimeout: 250,
    maxTimeout: 1_000,
    maxRetryTime: 20_000,
    shouldRetry: ({ error }) => /unhealthy cluster/.test(error.message),
  });
}
