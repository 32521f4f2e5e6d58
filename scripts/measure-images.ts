// `node --import tsx scripts/measure-images.ts [--cold] [versions…]`: how long obtaining each etcd
// image takes here, step by step (index update, index read, download, unpack, docker build,
// verification), as one JSON line per version plus the machine's load. With --cold it first
// removes this lab's Debian-built images of those versions and uses a new, empty apt root (a
// fresh machine's first run); without it (warm), the lab's apt root and images are used as they are. Starts no
// cluster; every container it runs is a one-shot `etcd --version` / `etcdctl version`.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { docker } from '../src/host/docker.ts';
import { PrivateAptRoot } from '../src/host/images/apt-root.ts';
import { listCachedImages, obtainEtcdImage } from '../src/host/images/obtain-etcd-image.ts';
import { versionAlias } from '../src/host/images/provenance.ts';

const args = process.argv.slice(2);
const cold = args.includes('--cold');
const versions = args.filter((arg) => !arg.startsWith('--'));
if (versions.length === 0) versions.push('3.4.23', '3.5.16', '3.5.30');

let aptRoot: PrivateAptRoot | undefined;
if (cold) {
  for (const image of await listCachedImages()) {
    if (image.source !== 'debian' || !versions.includes(image.etcdVersion)) continue;
    for (const reference of [image.image, versionAlias(image.etcdVersion)]) {
      await docker()
        .getImage(reference)
        .remove()
        .catch(() => undefined);
    }
  }
  aptRoot = new PrivateAptRoot(await mkdtemp(join(os.tmpdir(), 'etcd-lab-apt-measure-')));
}

const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms));
for (const version of versions) {
  const loadBefore = os.loadavg()[0];
  const { provenance, timings } = await obtainEtcdImage(version, aptRoot === undefined ? {} : { aptRoot });
  console.log(
    JSON.stringify({
      version,
      mode: cold ? 'cold' : 'warm',
      image: provenance.image,
      source: provenance.source,
      cached: provenance.cached,
      etcdVersion: provenance.etcdVersion,
      goVersion: provenance.goVersion,
      ms: Object.fromEntries(
        (Object.entries(timings) as [string, number][]).map(([step, ms]) => [
          step.replace(/Ms$/, ''),
          round(ms),
        ]),
      ),
      load1: [loadBefore, os.loadavg()[0]].map((load) => Number(load?.toFixed(1))),
    }),
  );
}
if (aptRoot !== undefined) console.log(`apt root of this cold run: ${aptRoot.dir} (remove it by hand)`);
