import { describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import { BadInputError, ClusterError, EtcdImageError } from '../../src/errors.ts';
import { findLeftovers } from '../support/leftovers.ts';

/** Runs `attempt`, returns its error, and checks that this process added no labelled resource meanwhile. */
async function failsLeavingNothing(attempt: () => Promise<unknown>): Promise<Error> {
  const mine = { ownerPids: [process.pid] };
  const before = await findLeftovers(mine);
  const error = await attempt().then(
    () => new Error('expected a failure, but it started'),
    (e: unknown) => e as Error,
  );
  expect(await findLeftovers(mine)).toEqual(before);
  return error;
}

/** Bad input fails with a clear error, and nothing the lab created stays behind. */
describe('bad input', () => {
  it.each([0, 8, 2.5, -1])('refuses %s members before creating anything', async (count) => {
    const error = await failsLeavingNothing(() => new EtcdCluster().withMembers(count).start());
    expect(error).toBeInstanceOf(BadInputError);
    expect(error.message).toMatch(/member count must be an integer from 1 to 7/);
  });

  it('refuses an election timeout under 5 × heartbeat, as etcd would', async () => {
    const error = await failsLeavingNothing(() =>
      new EtcdCluster().withEtcdOptions({ heartbeatMs: 100, electionTimeoutMs: 300 }).start(),
    );
    expect(error).toBeInstanceOf(BadInputError);
    expect(error.message).toMatch(/at least 5 × heartbeatMs/);
  });

  it('names an image that does not exist and cannot be pulled', async () => {
    const error = await failsLeavingNothing(() =>
      new EtcdCluster().withImage('etcd-lab/no-such-image:0.0.0').start(),
    );
    expect(error).toBeInstanceOf(EtcdImageError);
    expect(error.message).toMatch(/etcd-lab\/no-such-image:0\.0\.0 is not present and could not be pulled/);
  });

  it('reports a flag etcd rejects in etcd’s own words, and removes the half-started cluster', async () => {
    const started = performance.now();
    const error = await failsLeavingNothing(() =>
      new EtcdCluster()
        .withMembers(3)
        .withEtcdOptions({ extraFlags: ['--no-such-flag=1'] })
        .start(),
    );
    expect(error).toBeInstanceOf(ClusterError);
    expect(error.message).toMatch(
      /exited \(code \d+\) before it was ready: flag provided but not defined: -no-such-flag/,
    );
    // Fails when the member exits, not after the 60 s startup timeout.
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});
