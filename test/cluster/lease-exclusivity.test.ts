import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { LeaseElectionFailover } from '../../src/run/lease-election-failover.ts';

/**
 * `maxExclusivityOverlapMs` on real etcd: the lease-election kind with short TTLs (1 and 2 s),
 * the elected candidate cut off from etcd (its client's member isolated) instead of crashed. It
 * keeps believing it leads until etcd3 says its lease is lost; meanwhile etcd expires the lease
 * and elects the next candidate. The overlap is the run's number; the bounds come from the TTL
 * and etcd3's rule (lease.js): a keep-alive stream silent for a TTL is reopened, and the lease is
 * declared lost once the last renewal is more than 2 × TTL old. Renewals go every TTL / 3, so the
 * holder hears it lost between 5/3 × TTL and about 3 × TTL after it was cut off.
 */
const EXPERIMENT = [
  'name: lease-exclusivity',
  'kind: lease-election',
  'title: Two leaders at once when the holder is cut off',
  'cluster: { members: 3, etcd: { heartbeatMs: 50, electionTimeoutMs: 500 } }',
  'ttlsSeconds: [1, 2]',
  'candidates: 3',
  'loadWindowMs: 1000',
  'holderFault: isolate',
  'hypothesis:',
  '  maxExclusivityOverlapMs: 5000 # 2 × the longest TTL + 1 s',
  '',
].join('\n');

const cli = (...args: string[]) => execa('node', ['bin/etcd-lab.js', ...args], { reject: false });

describe('maxExclusivityOverlapMs against real etcd', () => {
  it('measures how long an isolated holder and its successor both believe they lead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-lab-excl-'));
    const file = join(dir, 'lease-exclusivity.yaml');
    const out = join(dir, 'out');
    writeFileSync(file, EXPERIMENT);

    const run = await cli('run', file, '--out', out);
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(
      /✓ lock exclusivity \(overlap of believed tenures\) with TTL 1 s \(isolate\): longest overlap [\d.]+ ms/,
    );

    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
      leaseElection: LeaseElectionFailover[];
    };
    expect(result.leaseElection).toHaveLength(2);
    for (const f of result.leaseElection) {
      const ttlMs = f.ttlSeconds * 1_000;
      const holder = f.tenures?.find((t) => t.candidate === f.firstLeader);
      const next = f.tenures?.find((t) => t.candidate === f.nextLeader);
      expect(holder?.endedBy, `TTL ${f.ttlSeconds}`).toBe('lost');
      expect(next).toBeDefined();
      const cutOffAt = (next?.acquiredMs ?? NaN) - f.failoverMs;
      const heardLostAfter = (holder?.lostMs ?? NaN) - cutOffAt;
      expect(heardLostAfter, `TTL ${f.ttlSeconds}`).toBeGreaterThanOrEqual((5 / 3) * ttlMs - 100);
      expect(heardLostAfter, `TTL ${f.ttlSeconds}`).toBeLessThanOrEqual(3 * ttlMs + 1_500);
      // The overlap is from the successor's election to the holder hearing it lost.
      const overlap = f.exclusivity?.maxOverlapMs ?? NaN;
      expect(f.exclusivity?.maxOverlapOpenEnded).toBe(false);
      expect(overlap, `TTL ${f.ttlSeconds}`).toBeCloseTo(
        (holder?.lostMs ?? NaN) - (next?.acquiredMs ?? NaN),
        0,
      );
      expect(overlap, `TTL ${f.ttlSeconds}`).toBeGreaterThan(0);
      expect(overlap, `TTL ${f.ttlSeconds}`).toBeLessThanOrEqual(3 * ttlMs + 1_500 - f.failoverMs);
    }
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('| TTL (s) | holder | tenures | longest overlap (ms) |');
  }, 180_000);
});
