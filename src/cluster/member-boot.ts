import { ClusterError } from '../errors.ts';
import type { EtcdMember } from './etcd-member.ts';
import { MemberLogFollower } from './member-log-follower.ts';
import { removeQuietly, type CreatedMember, type MemberLauncher } from './member-launcher.ts';
import { READY_LOG_LINE } from './member-ready-wait.ts';

// etcd logs the first once it has asked its peers whether it was bootstrapped already (see
// bootMembers), the second once its peer listener answers; 3.4 (zap) and 3.5 alike.
const PAST_BOOTSTRAP_PROBE = /"msg":"(?:starting local member|serving peer traffic)"/;

/**
 * Boots a new cluster's members: creates every container at once, then starts them one after
 * another, each once the previous one is past its bootstrap probe, then waits until all serve
 * clients.
 *
 * Why not start them all at once: a new member first asks every peer for /members with a 1 s
 * timeout (etcd's isMemberBootstrapped, silent in the log). A peer that is itself still in that
 * step has its listener open but does not answer, and so does a peer whose container Docker is
 * still starting (its name resolves, its address does not answer yet): every probe of either
 * costs the whole second. Started together, 3 members spent 0–2 s and 5 members about 4 s in it;
 * started in turn without waiting, still 4 s in two of three 5-member starts. A peer whose
 * container is not being started fails at once (its name does not resolve), and one that serves
 * answers at once. So the next container is started only once the previous member logged that
 * its probe is over; by the time Docker has the next one running (about 0.4 s here) the
 * previous one serves. Docker starts containers one at a time on this kind of host anyway.
 *
 * On any failure every container is removed before this rejects with the first cause.
 */
export async function bootMembers(
  launcher: MemberLauncher,
  names: readonly string[],
  initialCluster: string,
): Promise<EtcdMember[]> {
  const created: CreatedMember[] = [];
  const followers: MemberLogFollower[] = [];
  const abort = new AbortController();
  try {
    const creations = await Promise.allSettled(
      names.map((name) => launcher.create(name, initialCluster, 'new', { signal: abort.signal })),
    );
    for (const creation of creations) if (creation.status === 'fulfilled') created.push(creation.value);
    const failed = creations.find((creation) => creation.status === 'rejected');
    if (failed !== undefined) throw failed.reason;

    const timeoutMs = launcher.startupTimeoutMs;
    for (const [index, initial] of created.entries()) {
      // start() may have created it again on another host port: keep the one that runs.
      const member = await launcher.start(initial);
      created[index] = member;
      const follower = await MemberLogFollower.follow(member.container, member.name);
      followers.push(follower);
      await follower.waitFor(PAST_BOOTSTRAP_PROBE, 'past its bootstrap probe', timeoutMs);
    }
    // The first failure aborts the other waits, so a member that exits fails the start at once.
    await Promise.all(
      followers.map((follower) =>
        follower.waitFor(READY_LOG_LINE, 'ready', timeoutMs, abort.signal).catch((error: unknown) => {
          abort.abort(new ClusterError('start abandoned: another member failed'));
          throw error;
        }),
      ),
    );
    return await Promise.all(created.map((member) => launcher.memberOf(member)));
  } catch (error) {
    await Promise.all(created.map((member) => removeQuietly(member.container)));
    throw error;
  } finally {
    for (const follower of followers) follower.close();
  }
}
