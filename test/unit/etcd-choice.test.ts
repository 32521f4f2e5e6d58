import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { takeEtcdArg } from '../../bench/lib/etcd-arg.ts';
import { errorReport } from '../../src/cli/error-line.ts';
import { etcdRequest, etcdRequestOrList } from '../../src/cli/options.ts';
import { BadInputError } from '../../src/errors.ts';
import { validateExperiment } from '../../src/plans/experiment/spec.ts';
import {
  chooseEtcd,
  chooseEtcdRuns,
  etcdMatrixProblem,
  etcdRequestProblem,
  MATRIX_NOT_SUPPORTED,
  MAX_MATRIX_VERSIONS,
  withEtcdRequest,
} from '../../src/host/etcd-choice.ts';
import { imageProvenance, resolveEtcdImage, resolvedFromProvenance } from '../../src/host/etcd-image.ts';
import type { EtcdImageProvenance } from '../../src/host/images/provenance.ts';
import { hostInfo, imageFields, runEnvironment } from '../../src/run/results-envelope.ts';
import { planCells, validateSweep } from '../../src/plans/sweep/spec.ts';

const experiment = {
  name: 'x',
  title: 'X',
  cluster: { members: 1 },
  workload: { ratePerSecond: 10, durationMs: 2_000 },
  method: [{ fault: 'traffic', at: 500, for: 500, clients: 1 }],
  hypothesis: {},
};
const sweep = {
  name: 'x',
  title: 'X',
  configurations: [{ heartbeatMs: 10, electionTimeoutMs: 100 }],
  fault: { kind: 'none' },
};

/** The one line the CLI would print for what `task` throws. */
function refusal(task: () => unknown): string {
  try {
    task();
  } catch (error) {
    expect(error).toBeInstanceOf(BadInputError);
    const { line, details } = errorReport(error);
    expect(details).toEqual([]);
    return line;
  }
  throw new Error('accepted');
}

describe('what --etcd and etcd: accept', () => {
  it('one version or one image reference', () => {
    for (const ok of ['3.5.30', 'v3.4.23', 'etcd-lab/etcd:3.5.16', 'gcr.io/etcd-development/etcd:v3.5.21']) {
      expect(etcdRequestProblem(ok), ok).toBeUndefined();
      expect(etcdRequest(` ${ok} `)).toBe(ok);
    }
  });

  it('refuses a list (only run takes a version matrix) and what is neither a version nor an image', () => {
    expect(etcdRequestProblem('3.4.23,3.5.30')).toBe(`${MATRIX_NOT_SUPPORTED}, got "3.4.23,3.5.30"`);
    expect(etcdRequestProblem('Etcd:3')).toMatch(/expected an etcd version such as 3\.5\.30 or an image/);
    expect(() => etcdRequest('3.4.23, 3.5.30')).toThrow(InvalidArgumentError);
    expect(() => etcdRequest('')).toThrow(/empty string/);
  });
});

describe('resolveEtcdImage refuses bad requests before Docker is asked anything', () => {
  it('names where the request came from', async () => {
    await expect(resolveEtcdImage({ image: '3.4.23,3.5.30', origin: '--etcd' })).rejects.toThrow(
      `--etcd: ${MATRIX_NOT_SUPPORTED}, got "3.4.23,3.5.30"`,
    );
    await expect(resolveEtcdImage({ image: 'Bad' })).rejects.toThrow(/^image: expected an etcd version/);
    const saved = process.env.ETCD_IMAGE;
    process.env.ETCD_IMAGE = '3.5.16,3.5.30';
    try {
      await expect(resolveEtcdImage()).rejects.toThrow(/^ETCD_IMAGE: a version matrix/);
    } finally {
      if (saved === undefined) delete process.env.ETCD_IMAGE;
      else process.env.ETCD_IMAGE = saved;
    }
  });
});

describe('which etcd a run uses', () => {
  const file = { spec: { etcd: '3.5.16', cluster: {} }, source: 'lab/x.yaml' };

  it('the flag over the file, the file over nothing; --image is an alias of --etcd', () => {
    expect(chooseEtcd({ etcd: '3.5.30' }, file)).toEqual({ request: '3.5.30', origin: '--etcd' });
    expect(chooseEtcd({ image: 'etcd-lab/etcd:3.5.30' }, file)).toEqual({
      request: 'etcd-lab/etcd:3.5.30',
      origin: '--image',
    });
    expect(chooseEtcd({}, file)).toEqual({ request: '3.5.16', origin: 'lab/x.yaml: etcd' });
    expect(chooseEtcd({}, { spec: { cluster: { image: 'e:1' } }, source: 'f.yaml' })).toEqual({
      request: 'e:1',
      origin: 'f.yaml: cluster.image',
    });
    expect(chooseEtcd({})).toBeUndefined();
    expect(chooseEtcd({}, { spec: { cluster: {} }, source: 'f.yaml' })).toBeUndefined();
  });

  it('refuses --etcd with --image in one line', () => {
    expect(refusal(() => chooseEtcd({ etcd: '3.5.30', image: 'e:1' }))).toBe(
      'etcd-lab: --etcd and --image both given (3.5.30, e:1): --image is an alias of --etcd; give one',
    );
  });

  it('puts the flag’s choice into the spec in place of the file’s etcd or cluster.image', () => {
    const spec = { name: 'x', etcd: '3.5.16', cluster: { members: 3, image: 'e:1' } };
    expect(withEtcdRequest(spec, '3.5.30')).toEqual({ name: 'x', etcd: '3.5.30', cluster: { members: 3 } });
    expect(spec.cluster.image).toBe('e:1'); // not changed in place
  });

  it('a version matrix: one run per entry of --etcd a,b or of the file’s list, the flag first', () => {
    const listFile = { spec: { etcd: ['3.4.23', '3.5.30'], cluster: {} }, source: 'lab/x.yaml' };
    expect(chooseEtcdRuns({ etcd: '3.4.23, 3.5.16' }, listFile)).toEqual([
      { request: '3.4.23', origin: '--etcd' },
      { request: '3.5.16', origin: '--etcd' },
    ]);
    expect(chooseEtcdRuns({}, listFile)).toEqual([
      { request: '3.4.23', origin: 'lab/x.yaml: etcd' },
      { request: '3.5.30', origin: 'lab/x.yaml: etcd' },
    ]);
    expect(chooseEtcdRuns({ etcd: '3.5.30' }, listFile)).toEqual([{ request: '3.5.30', origin: '--etcd' }]);
    expect(chooseEtcdRuns({}, file)).toEqual([{ request: '3.5.16', origin: 'lab/x.yaml: etcd' }]);
    expect(chooseEtcdRuns({})).toEqual([]);
    // Where one etcd is taken, a file's list is refused in one line naming the file.
    expect(refusal(() => chooseEtcd({}, listFile))).toBe(
      `etcd-lab: lab/x.yaml: etcd: ${MATRIX_NOT_SUPPORTED}`,
    );
  });

  it('refuses a bad matrix in one line: an entry twice, a bad entry, too many', () => {
    expect(refusal(() => chooseEtcdRuns({ etcd: '3.5.30,v3.5.30' }))).toBe(
      'etcd-lab: --etcd: v3.5.30 is listed twice',
    );
    expect(etcdMatrixProblem('3.4.23,,3.5.30')).toBe('an empty entry in the version list');
    expect(etcdMatrixProblem('3.4.23,Bad')).toMatch(/^Bad: expected an etcd version/);
    expect(etcdMatrixProblem(['3.4.1', '3.4.2', '3.4.3', '3.4.4', '3.4.5', '3.4.6', '3.4.7'].join(','))).toBe(
      `at most ${MAX_MATRIX_VERSIONS} versions in one matrix (each is a whole run), got 7`,
    );
    expect(etcdRequestOrList(' 3.4.23,3.5.30 ')).toBe('3.4.23,3.5.30');
    expect(() => etcdRequestOrList('3.4.23,3.4.23')).toThrow(InvalidArgumentError);
  });
});

describe('etcd: in experiment files', () => {
  it('takes one version or image', () => {
    expect(validateExperiment({ ...experiment, etcd: '3.5.30' }).etcd).toBe('3.5.30');
    expect(validateExperiment({ ...experiment, etcd: 'etcd-lab/etcd:3.5.30' }).etcd).toBe(
      'etcd-lab/etcd:3.5.30',
    );
    expect(validateExperiment(experiment).etcd).toBeUndefined();
  });

  it('takes a list of versions (a YAML list or "a, b"): a version matrix; one entry is that one version', () => {
    expect(validateExperiment({ ...experiment, etcd: ['3.4.23', 'v3.5.30'] }).etcd).toEqual([
      '3.4.23',
      'v3.5.30',
    ]);
    expect(validateExperiment({ ...experiment, etcd: '3.4.23, 3.5.16,3.5.30' }).etcd).toEqual([
      '3.4.23',
      '3.5.16',
      '3.5.30',
    ]);
    expect(validateExperiment({ ...experiment, etcd: ['3.5.30'] }).etcd).toBe('3.5.30');
  });

  it('refuses a bad list, a number and a second name (cluster.image) in one line', () => {
    expect(refusal(() => validateExperiment({ ...experiment, etcd: [] }, 'x.yaml'))).toBe(
      'etcd-lab: x.yaml is invalid: etcd: an empty version list; give one version or several',
    );
    expect(refusal(() => validateExperiment({ ...experiment, etcd: ['3.4.23', 3.5] }, 'x.yaml'))).toBe(
      'etcd-lab: x.yaml is invalid: etcd: expected etcd versions such as 3.5.30 (quoted if YAML reads them as numbers), got 3.5',
    );
    expect(refusal(() => validateExperiment({ ...experiment, etcd: '3.4.23,v3.4.23' }, 'x.yaml'))).toBe(
      'etcd-lab: x.yaml is invalid: etcd: v3.4.23 is listed twice',
    );
    expect(refusal(() => validateExperiment({ ...experiment, etcd: ['3.4.23', 'Bad'] }, 'x.yaml'))).toMatch(
      /^etcd-lab: x\.yaml is invalid: etcd: Bad: expected an etcd version such as 3\.5\.30/,
    );
    expect(refusal(() => validateExperiment({ ...experiment, etcd: 3.5 }, 'x.yaml'))).toMatch(
      /etcd: expected an etcd version such as 3\.5\.30 or an image reference, got 3\.5$/,
    );
    expect(
      refusal(() =>
        validateExperiment(
          { ...experiment, etcd: '3.5.30', cluster: { members: 1, image: 'e:1' } },
          'x.yaml',
        ),
      ),
    ).toBe(
      'etcd-lab: x.yaml is invalid: etcd: give etcd or cluster.image, not both (etcd: 3.5.30, cluster.image: e:1)',
    );
  });
});

describe('etcd: in sweep files', () => {
  it('takes one version, and each cell’s cluster names it (so its hash changes with the version)', () => {
    const plain = planCells(validateSweep(sweep));
    const on3530 = planCells(validateSweep({ ...sweep, etcd: '3.5.30' }));
    const on3516 = planCells(validateSweep({ ...sweep, etcd: '3.5.16' }));
    expect(plain[0]?.cluster.image).toBeUndefined();
    expect(on3530[0]?.cluster.image).toBe('3.5.30');
    expect(on3530[0]?.cellId).toBe(plain[0]?.cellId);
    expect(new Set([plain, on3530, on3516].map((cells) => cells[0]?.cellHash)).size).toBe(3);
    // The older cluster.image names the same thing the same way.
    const viaImage = planCells(validateSweep({ ...sweep, cluster: { image: '3.5.30' } }));
    expect(viaImage[0]?.cellHash).toBe(on3530[0]?.cellHash);
  });

  it('a flag’s choice (withEtcdRequest) passes validation even where the file had cluster.image', () => {
    const spec = validateSweep({ ...sweep, cluster: { image: 'e:1' } });
    expect(planCells(validateSweep(withEtcdRequest(spec, '3.5.16'), 'x'))[0]?.cluster.image).toBe('3.5.16');
  });

  it('refuses a list and a second name in one line', () => {
    expect(refusal(() => validateSweep({ ...sweep, etcd: ['3.4.23', '3.5.30'] }, 's.yaml'))).toBe(
      `etcd-lab: s.yaml is invalid: etcd: ${MATRIX_NOT_SUPPORTED}`,
    );
    expect(
      refusal(() => validateSweep({ ...sweep, etcd: '3.5.30', cluster: { image: 'e:1' } }, 's.yaml')),
    ).toMatch(/^etcd-lab: s\.yaml is invalid: etcd: give etcd or cluster\.image, not both/);
  });
});

const debianProvenance: EtcdImageProvenance = {
  requested: '3.5.30',
  requestedVersion: '3.5.30',
  image: 'etcd-lab/etcd:3.5.30-deb-6dbff1088abf',
  imageId: 'sha256:abc',
  source: 'debian',
  cached: true,
  etcdVersion: '3.5.30',
  goVersion: 'go1.26.4',
  debian: {
    suite: 'forky',
    packages: [
      { name: 'etcd-server', version: '3.5.30-2', sha256: 'a'.repeat(64) },
      { name: 'etcd-client', version: '3.5.30-2', sha256: 'b'.repeat(64) },
      { name: 'libc6', version: '2.43-7', sha256: 'c'.repeat(64) },
    ],
  },
};

describe('provenance', () => {
  it('a version obtained: the run sees the image, its source and the whole provenance', () => {
    expect(resolvedFromProvenance(debianProvenance)).toMatchObject({
      requested: '3.5.30',
      image: 'etcd-lab/etcd:3.5.30-deb-6dbff1088abf',
      source: 'debian',
      etcdVersion: '3.5.30',
      provenance: debianProvenance,
    });
    const pulled = { ...debianProvenance, source: 'registry', cached: false } as const;
    expect(resolvedFromProvenance(pulled).source).toBe('pulled');
    expect(resolvedFromProvenance({ ...pulled, cached: true }).source).toBe('present');
    expect(resolvedFromProvenance({ ...pulled, source: 'host' }).source).toBe('built-from-host-binaries');
  });

  it('an image named by reference: the default falling back to the host build says both versions', () => {
    const fallback = imageProvenance({
      requested: 'gcr.io/etcd-development/etcd:v3.5.21',
      image: 'etcd-lab/etcd:3.4.23-host-0123456789ab',
      imageId: 'sha256:def',
      source: 'built-from-host-binaries',
      labels: { 'etcd-lab.image': 'host-built' },
      etcdVersion: '3.4.23',
      goVersion: 'go1.19.8',
    });
    expect(fallback).toEqual({
      requested: 'gcr.io/etcd-development/etcd:v3.5.21',
      requestedVersion: '3.5.21',
      image: 'etcd-lab/etcd:3.4.23-host-0123456789ab',
      imageId: 'sha256:def',
      source: 'host',
      cached: false,
      etcdVersion: '3.4.23',
      goVersion: 'go1.19.8',
    });
    const named = {
      requested: 'example.org/my/etcd:patched',
      image: 'example.org/my/etcd:patched',
      imageId: 'sha256:1',
      source: 'present',
      labels: null,
      etcdVersion: '3.5.99',
    } as const;
    const own = imageProvenance(named);
    expect(own).toMatchObject({ source: 'image', cached: true });
    expect(own).not.toHaveProperty('requestedVersion');
    const official = imageProvenance({
      ...named,
      requested: 'quay.io/coreos/etcd:v3.5.1',
      image: 'quay.io/coreos/etcd:v3.5.1',
      source: 'pulled',
    });
    expect(official).toMatchObject({ source: 'registry', cached: false, requestedVersion: '3.5.1' });
  });

  it('results record it: the environment of an experiment, a sweep or a validation carries etcdProvenance', () => {
    const described = {
      runId: 'r1',
      members: 1,
      requestedImage: '3.5.30',
      image: debianProvenance.image,
      imageId: 'sha256:abc',
      imageSource: 'debian',
      etcdVersion: '3.5.30',
      etcdProvenance: debianProvenance,
      heartbeatMs: 100,
    };
    // One cluster (experiments) keeps everything; many (sweeps, quorum-validate) keep the image fields.
    for (const cluster of [described, imageFields(described)]) {
      const environment = runEnvironment(cluster, hostInfo([0, 0, 0]));
      expect(environment.etcdProvenance).toEqual(debianProvenance);
      expect(environment.etcdVersion).toBe('3.5.30');
    }
    expect(imageFields(described)).not.toHaveProperty('heartbeatMs');
  });
});

describe('bench --etcd', () => {
  it('takes --etcd out of the arguments, wherever it stands', () => {
    expect(takeEtcdArg(['elections', '--etcd', '3.5.30', '10'])).toEqual({
      args: ['elections', '10'],
      etcd: '3.5.30',
    });
    expect(takeEtcdArg(['--etcd=v3.4.23', 'cluster-startup'])).toEqual({
      args: ['cluster-startup'],
      etcd: 'v3.4.23',
    });
    expect(takeEtcdArg(['overhead', '--quick'])).toEqual({ args: ['overhead', '--quick'] });
  });

  it('refuses a missing, listed, bad or repeated value', () => {
    expect(takeEtcdArg(['elections', '--etcd'])).toEqual({
      problem: '--etcd: expected an etcd version or image reference',
    });
    expect(takeEtcdArg(['--etcd', '3.4.23,3.5.30'])).toMatchObject({ problem: /version matrix/ });
    expect(takeEtcdArg(['--etcd', 'Bad'])).toMatchObject({ problem: /^--etcd: expected an etcd version/ });
    expect(takeEtcdArg(['--etcd', '3.5.30', '--etcd=3.5.16'])).toEqual({
      problem: '--etcd given twice (3.5.30, 3.5.16)',
    });
  });
});
