import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acknowledgedWritesCheck } from '../../src/checks/acknowledged-writes.ts';
import { runVerdict, type Check } from '../../src/checks/check.ts';
import {
  checksTable,
  envelope,
  hostInfo,
  imageFields,
  renderJunit,
  RESULTS_SCHEMA_VERSION,
  runEnvironment,
  verdictLine,
  writeEnvelope,
  type RunStatus,
} from '../../src/run/results-envelope.ts';
import { removeStaleTempFiles } from '../../src/util/atomic-json.ts';

const check = (name: string, verdict: Check['verdict']): Check => ({
  name,
  expected: '≤ 1 s',
  observed: '0.5 s',
  verdict,
});

const CHECKS = [
  check('held one', 'held'),
  check('deviated one', 'deviated'),
  check('open one', 'inconclusive'),
];

function sample(status: RunStatus, checks: readonly Check[], error?: string) {
  return {
    ...envelope({
      kind: 'sweep',
      name: 'demo',
      title: 'A demo',
      status,
      error,
      startedAt: '2026-11-30T12:00:00.000Z',
      durationMs: 1_234,
      environment: runEnvironment(
        { etcdVersion: '3.5.21', image: 'etcd:v3.5.21', members: 3 },
        hostInfo([1, 1, 1]),
      ),
      checks,
    }),
    cells: [],
  };
}

describe('run verdict', () => {
  it('combines checks: any deviation deviates, then any inconclusive, else held', () => {
    expect(runVerdict('completed', CHECKS)).toBe('deviated');
    expect(
      runVerdict(
        'completed',
        CHECKS.filter((c) => c.verdict !== 'deviated'),
      ),
    ).toBe('inconclusive');
    expect(runVerdict('completed', [check('a', 'held')])).toBe('held');
  });

  it('never says held for a run that did not complete', () => {
    expect(runVerdict('aborted', [check('a', 'held')])).toBe('inconclusive');
    expect(runVerdict('failed', [])).toBe('inconclusive');
    expect(runVerdict('aborted', CHECKS)).toBe('deviated');
  });
});

describe('the results envelope', () => {
  it('carries the common fields, the environment and the plan payload', () => {
    const result = sample('completed', CHECKS);
    expect(result).toMatchObject({
      schemaVersion: RESULTS_SCHEMA_VERSION,
      kind: 'sweep',
      name: 'demo',
      status: 'completed',
      verdict: 'deviated',
      deviated: true,
      durationMs: 1_234,
      cells: [],
    });
    expect(RESULTS_SCHEMA_VERSION).toBe(4);
    expect(result).not.toHaveProperty('error');
    expect(result.environment.etcdVersion).toBe('3.5.21');
    expect(result.environment.members).toBe(3);
    expect(result.environment.host.cpus).toBeGreaterThan(0);
    expect(result.environment.host.loadAverage.start).toEqual([1, 1, 1]);
  });

  it('names etcd as unknown when no cluster started', () => {
    const env = runEnvironment(undefined, hostInfo([0, 0, 0]));
    expect(env.etcdVersion).toBeNull();
    expect(env.image).toBeNull();
  });

  it('JUnit: one test case per check, deviated fails, inconclusive is skipped', () => {
    const xml = renderJunit(sample('completed', CHECKS));
    expect(xml).toContain('tests="3"');
    expect(xml).toContain('failures="1"');
    expect(xml).toContain('skipped="1"');
    expect(xml).toMatch(
      /<testcase classname="demo" name="deviated one"[^>]*>\s*<failure message="expected ≤ 1 s, observed 0.5 s"/,
    );
  });

  it('JUnit: a run that did not complete adds a failing case with the reason', () => {
    const xml = renderJunit(sample('aborted', [], 'interrupted by SIGINT'));
    expect(xml).toContain('tests="1"');
    expect(xml).toContain('name="sweep ran to completion"');
    expect(xml).toContain('aborted: interrupted by SIGINT');
  });

  it('Markdown: the verdict line says how the run ended, the table escapes pipes', () => {
    expect(verdictLine(sample('aborted', [], 'interrupted by SIGINT'))).toBe(
      '**ABORTED**: interrupted by SIGINT',
    );
    expect(verdictLine(sample('completed', [check('a', 'held')]), { held: 'fine' })).toBe('fine');
    const table = checksTable([{ ...check('a | b', 'held'), why: 'x' }]);
    expect(table[2]).toBe('| a \\| b | ≤ 1 s | 0.5 s (x) | held |');
  });

  it("a plan of many clusters takes only etcd's version and image from the first cluster's record", () => {
    const described = {
      runId: 'r1',
      members: 3,
      requestedImage: 'etcd:3.5',
      image: 'gcr.io/etcd:3.5.21',
      imageId: 'sha256:abc',
      imageSource: 'local',
      etcdVersion: '3.5.21',
      heartbeatMs: 100,
      electionTimeoutMs: 1000,
      memberNames: { a: 'm1' },
    };
    const environment = runEnvironment(imageFields(described), hostInfo([0, 0, 0]));
    const { host, ...rest } = environment;
    expect(host.cpus).toBeGreaterThan(0);
    expect(rest).toEqual({
      etcdVersion: '3.5.21',
      image: 'gcr.io/etcd:3.5.21',
      requestedImage: 'etcd:3.5',
      imageId: 'sha256:abc',
      imageSource: 'local',
    });
    expect(runEnvironment(imageFields(undefined), hostInfo([0, 0, 0]))).toMatchObject({
      etcdVersion: null,
      image: null,
    });
  });

  describe('on disk', () => {
    let dir: string | undefined;
    afterEach(async () => {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('writes result.json (no temporary file left), junit.xml and report.md', async () => {
      dir = await mkdtemp(join(tmpdir(), 'etcd-lab-envelope-'));
      const files = await writeEnvelope(dir, sample('completed', CHECKS), '# report\n');
      expect(files.map((f) => f.slice(dir!.length + 1))).toEqual(['result.json', 'junit.xml', 'report.md']);
      expect((await readdir(dir)).sort()).toEqual(['junit.xml', 'report.md', 'result.json']);
      const saved = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as Record<string, unknown>;
      expect(saved.schemaVersion).toBe(4);
      expect(saved.kind).toBe('sweep');
      expect(saved.checks).toHaveLength(3);
      expect(await readFile(join(dir, 'report.md'), 'utf8')).toBe('# report\n');
    });

    it('removes the temporary files a dead writer left behind, keeping live writers’ and others', async () => {
      dir = await mkdtemp(join(tmpdir(), 'etcd-lab-envelope-'));
      // Above Linux's largest possible pid (PID_MAX_LIMIT = 2^22): no process can have it.
      const deadPid = 2 ** 22 + 1;
      const livePid = process.ppid;
      const files = {
        dead: `result.json.${deadPid}.tmp`,
        deadCell: `c1.json.${deadPid}.tmp`,
        live: `result.json.${livePid}.tmp`,
        own: `report.json.${process.pid}.tmp`,
        notOurs: 'notes.tmp',
      };
      for (const name of Object.values(files)) await writeFile(join(dir, name), '{');
      await writeEnvelope(dir, sample('completed', CHECKS), '# report\n');
      expect((await readdir(dir)).sort()).toEqual(
        ['junit.xml', 'report.md', 'result.json', files.live, files.own, files.notOurs].sort(),
      );
      // On its own too (what a sweep's cells directory gets before each cell is written).
      await writeFile(join(dir, files.deadCell), '{');
      expect(await removeStaleTempFiles(dir)).toEqual([files.deadCell]);
      expect(await removeStaleTempFiles(join(dir, 'no-such-dir'))).toEqual([]);
    });
  });
});

describe('the acknowledged-writes check as a Check', () => {
  it('ok holds, failed deviates, unknown or not checked is inconclusive', () => {
    const result = (status: 'ok' | 'failed' | 'unknown') => ({
      status,
      keysChecked: 1,
      keysSkipped: 0,
      acknowledgedWrites: 1,
      violations: [],
      message: status,
    });
    expect(acknowledgedWritesCheck(result('ok')).verdict).toBe('held');
    expect(acknowledgedWritesCheck(result('failed')).verdict).toBe('deviated');
    expect(acknowledgedWritesCheck(result('unknown')).verdict).toBe('inconclusive');
    expect(acknowledgedWritesCheck(null)).toMatchObject({ verdict: 'inconclusive', observed: 'not checked' });
  });
});
