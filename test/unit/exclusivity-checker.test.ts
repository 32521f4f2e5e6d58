import { describe, expect, it } from 'vitest';
import {
  checkExclusivity,
  exclusivityCheck,
  type OwnershipTruth,
  type Tenure,
} from '../../src/checks/exclusivity/index.ts';

const tenure = (candidate: string, acquiredMs: number, lostMs: number | null): Tenure => ({
  candidate,
  acquiredMs,
  lostMs,
});

describe('exclusivity: overlaps of believed tenures', () => {
  it('back-to-back tenures that touch do not overlap', () => {
    const r = checkExclusivity([tenure('a', 0, 1_000), tenure('b', 1_000, 2_000), tenure('c', 2_000, 3_000)]);
    expect(r.overlaps).toEqual([]);
    expect(r.totalOverlapMs).toBe(0);
    expect(r.maxOverlapMs).toBe(0);
    expect(exclusivityCheck(r, 0).verdict).toBe('held');
  });

  it('two holders at once: who, from, to, how long', () => {
    // a is paused at 1 000 ms; its lease expires; b is elected at 4 000; a learns at 4 800.
    const r = checkExclusivity([tenure('a', 0, 4_800), tenure('b', 4_000, 9_000)]);
    expect(r.overlaps).toEqual([
      { candidates: ['a', 'b'], fromMs: 4_000, toMs: 4_800, lengthMs: 800, openEnded: false },
    ]);
    expect(r.totalOverlapMs).toBe(800);
    expect(r.maxOverlapMs).toBe(800);
    const within = exclusivityCheck(r, 1_000);
    expect(within.verdict).toBe('held');
    expect(within.observed).toContain('longest overlap 800 ms');
    const beyond = exclusivityCheck(r, 500);
    expect(beyond.verdict).toBe('deviated');
    expect(beyond.details).toContain('a + b from 4000 to 4800 ms (800 ms)');
  });

  it('three believers: stretches split where the set changes; total not double counted; max joins them', () => {
    const r = checkExclusivity([tenure('a', 0, 300), tenure('b', 100, 500), tenure('c', 200, 400)]);
    expect(r.overlaps.map((o) => [o.candidates.join(''), o.fromMs, o.toMs])).toEqual([
      ['ab', 100, 200],
      ['abc', 200, 300],
      ['bc', 300, 400],
    ]);
    expect(r.totalOverlapMs).toBe(300);
    expect(r.maxOverlapMs).toBe(300);
  });

  it('separate overlaps: the max is the longest, the total their sum', () => {
    const r = checkExclusivity([
      tenure('a', 0, 150),
      tenure('b', 100, 1_000),
      tenure('a', 900, 1_300),
      tenure('c', 1_200, 1_500),
    ]);
    expect(r.overlaps.map((o) => o.lengthMs)).toEqual([50, 100, 100]);
    expect(r.totalOverlapMs).toBe(250);
    expect(r.maxOverlapMs).toBe(100);
  });

  it('one candidate with overlapping tenures of its own is one believer', () => {
    const r = checkExclusivity([tenure('a', 0, 500), tenure('a', 200, 700)]);
    expect(r.overlaps).toEqual([]);
  });

  it('an open-ended tenure runs to the end of the record: a lower bound, inconclusive within the bound', () => {
    const r = checkExclusivity([tenure('a', 0, null), tenure('b', 1_000, 1_200)], { endMs: 2_000 });
    expect(r.overlaps).toEqual([
      { candidates: ['a', 'b'], fromMs: 1_000, toMs: 1_200, lengthMs: 200, openEnded: false },
    ]);
    expect(r.counts.openEnded).toBe(1);
    const both = checkExclusivity([tenure('a', 0, null), tenure('b', 1_000, null)], { endMs: 2_000 });
    expect(both.overlaps[0]).toMatchObject({ fromMs: 1_000, toMs: 2_000, lengthMs: 1_000, openEnded: true });
    expect(both.maxOverlapOpenEnded).toBe(true);
    expect(exclusivityCheck(both, 5_000).verdict).toBe('inconclusive');
    // Already past the bound: it can only grow.
    expect(exclusivityCheck(both, 500).verdict).toBe('deviated');
    // Without an end given, the record ends at the latest time it holds.
    const implicit = checkExclusivity([tenure('a', 0, null), tenure('b', 1_000, 1_500)]);
    expect(implicit.endMs).toBe(1_500);
  });

  it('nothing believed: inconclusive, not held; lost before acquired is malformed and left out', () => {
    const none = checkExclusivity([]);
    expect(exclusivityCheck(none, 100).verdict).toBe('inconclusive');
    const bad = checkExclusivity([tenure('a', 500, 100), tenure('b', 0, 50)]);
    expect(bad.malformed).toHaveLength(1);
    expect(bad.counts.tenures).toBe(1);
  });
});

describe("exclusivity: tenures against etcd's ownership", () => {
  const truth: OwnershipTruth = {
    spans: [
      { owner: 'a', fromRevision: 10, toRevision: 19 },
      { owner: null, fromRevision: 20, toRevision: 20 },
      { owner: 'b', fromRevision: 21, toRevision: null },
    ],
    observations: [
      { atMs: 500, revision: 12 },
      { atMs: 3_500, untilMs: 3_600, revision: 20 },
      { atMs: 4_200, revision: 22 },
      { atMs: 8_000, revision: 5 },
    ],
  };

  it('a belief while etcd had another owner (or none) is unbacked, with the observations', () => {
    const r = checkExclusivity([tenure('a', 0, 4_800), tenure('b', 4_000, 9_000)], { truth });
    expect(r.unbacked).toHaveLength(1);
    expect(r.unbacked[0]?.tenure.candidate).toBe('a');
    expect(r.unbacked[0]?.contradictions).toEqual([
      { atMs: 3_500, revision: 20, owner: null },
      { atMs: 4_200, revision: 22, owner: 'b' },
    ]);
    // b's tenure holds the observation at revision 22, which is b's.
    expect(r.counts.observationsJudged).toBe(4);
    // 5 is below every span: not judged.
    expect(r.counts.observationsNotCovered).toBe(1);
    const c = exclusivityCheck(r, 1_000);
    expect(c.verdict).toBe('held');
    expect(c.why).toContain('1 tenures believed while etcd had another owner');
    expect(c.details).toContain("at 3500 ms etcd's key at revision 20 was nobody's");
  });

  it('an observation only partly inside a tenure is not held against it', () => {
    const r = checkExclusivity([tenure('a', 0, 3_550)], { truth });
    // The read at 3 500–3 600 may have seen revision 20 after a stopped believing.
    expect(r.unbacked).toEqual([]);
  });

  it('backed tenures: every observation inside agrees', () => {
    const r = checkExclusivity([tenure('a', 0, 1_000), tenure('b', 4_100, 5_000)], { truth });
    expect(r.unbacked).toEqual([]);
    expect(r.counts.observationsJudged).toBe(2);
  });
});
