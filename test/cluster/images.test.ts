import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors.ts';
import { docker } from '../../src/host/docker.ts';
import { obtainEtcdImage } from '../../src/host/images/obtain-etcd-image.ts';
import { probeEtcdImage } from '../../src/host/images/probe.ts';
import { debianFromLabels, debianImageTag } from '../../src/host/images/provenance.ts';

// Starts no cluster: each image is obtained (found cached, or built from Debian's packages of that
// version on a fresh machine) and run once for `etcd --version` and `etcdctl version`.
const VERSIONS = ['3.4.23', '3.5.16', '3.5.30'] as const;

describe('etcd images per version', () => {
  for (const version of VERSIONS) {
    it(`obtains etcd ${version} and the image runs that version`, async () => {
      const { provenance, timings } = await obtainEtcdImage(version);
      expect(provenance.requested).toBe(version);
      expect(provenance.etcdVersion).toBe(version);
      // No registry is reachable here; where one is, its image is as good.
      expect(['debian', 'registry']).toContain(provenance.source);

      // Independent of the obtain step's own check: run the image again.
      const versions = await probeEtcdImage(provenance.image);
      expect(versions.etcdVersion).toBe(version);
      expect(versions.etcdctlVersion).toBe(version);
      expect(versions.goVersion).toMatch(/^go1\.\d+/);

      if (provenance.source === 'debian') {
        const inspect = await docker().getImage(provenance.image).inspect();
        const debian = debianFromLabels(inspect.Config.Labels);
        expect(debian).toEqual(provenance.debian);
        expect(debian?.packages.map((record) => record.name)).toEqual([
          'etcd-server',
          'etcd-client',
          'libc6',
        ]);
        expect(debian?.packages[0]?.version.startsWith(`${version}-`)).toBe(true);
        expect(provenance.image).toBe(debianImageTag(version, debian?.packages ?? []));
      }
      expect(timings.totalMs).toBeGreaterThan(0);

      // Obtained once, it is found again without any network step.
      const again = await obtainEtcdImage(version, { steps: ['cached'] });
      expect(again.provenance.cached).toBe(true);
      expect(again.provenance.imageId).toBe(provenance.imageId);
    }, 300_000);
  }

  it('`etcd-lab images` lists the three versions as cached, with their Debian packages', async () => {
    const { stdout, exitCode } = await execa('node', ['bin/etcd-lab.js', 'images', '--json'], {
      reject: false,
    });
    expect(exitCode).toBe(0);
    const catalog = JSON.parse(stdout) as {
      offers: { version: string; plan: string; debian?: { suite: string } }[];
    };
    for (const version of VERSIONS) {
      const offer = catalog.offers.find((candidate) => candidate.version === version);
      expect(offer?.plan, version).toBe('cached');
      expect(offer?.debian?.suite, version).toBeDefined();
    }
  });

  it('refuses a version nothing offers, naming the available ones in one line', async () => {
    const error: unknown = await obtainEtcdImage('3.0.99', { steps: ['cached', 'debian', 'host'] }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(BadInputError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    for (const version of VERSIONS) expect(message).toContain(version);
  });
});
