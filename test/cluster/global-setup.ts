import { prepareHost } from '../../src/host/prepare-host.ts';
import { findLeftovers } from '../support/leftovers.ts';

/**
 * Runs once around the cluster test files: the Docker engine, the image and the sweep of
 * earlier killed runs happen here, not inside a timed test. Afterwards nothing whose owner
 * (a test worker, now exited) is gone may remain: a leak fails the whole run.
 */
export async function setup(): Promise<void> {
  const host = await prepareHost();
  // Which etcd every cluster below runs (ETCD_IMAGE picks it; `npm run test:versions` sets it).
  process.stdout.write(`cluster tests run etcd ${host.image.etcdVersion} (${host.image.image})\n`);
}

export async function teardown(): Promise<void> {
  const left = await findLeftovers({ orphansOnly: true });
  const total = left.containers.length + left.networks.length + left.volumes.length + left.dataDirs.length;
  if (total > 0) {
    throw new Error(`cluster tests left resources behind: ${JSON.stringify(left)}`);
  }
}
