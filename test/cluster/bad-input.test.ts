import { describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import { BadInputError, ClusterError, EtcdImageError } from '../../src/errors.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

/** Bad input fails with a clear error, and nothing the lab created stays behind. */
describe('bad input', () => {
  it.each([0, 8, 2.5, -1])('refuses %s members before creating anything', async (count) => {
    const error = await new EtcdCluster()
      .withMembers(count)
      .start()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toMatch(/member count must be an integer from 1 to 7/);
    expect(await findLeftovers()).toEqual(NOTHING_LEFT);
  });

  it('refuses an election timeout under 5 × heartbeat, as etcd would', async () => {
    const error = await new EtcdCluster()
      .withEtcdOptions({ heartbeatMs: 100, electionTimeoutMs: 300 })
      .start()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toMatch(/at least 5 × heartbeatMs/);
  });

  it('names an image that does not exist and cannot be pulled', async () => {
    const error = await new EtcdCluster()
      .withImage('etcd-lab/no-such-image:0.0.0')
      .start()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EtcdImageError);
    expect((error as Error).message).toMatch(
      /etcd-lab\/no-such-image:0\.0\.0 is not present and could not be pulled/,
    );
    expect(await findLeftovers()).toEqual(NOTHING_LEFT);
  });

  it('reports a flag etcd rejects with etcd’s own words, and removes the half-started cluster', async () => {
    const started = performance.now();
    const error = await new EtcdCluster()
      .withMembers(3)
      .withEtcdOptions({ extraFlags: ['--no-such-flag=1'] })
      .start()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as Error).message).toMatch(/exited \(code \d+\) before it was ready/);
    expect((error as Error).message).toMatch(/no-such-flag/);
    // Fails when the member exits, not after the 60 s startup timeout.
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(await findLeftovers()).toEqual(NOTHING_LEFT);
  });
});
