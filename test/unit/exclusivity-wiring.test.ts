import { describe, expect, it } from 'vitest';
import { checkExclusivity } from '../../src/checks/exclusivity/index.ts';
import { BadInputError } from '../../src/errors.ts';
import type { LeaseElectionFailover } from '../../src/run/lease-election-failover.ts';
import { checkLeaseElection } from '../../src/plans/experiment/run-lease-election.ts';
import { validateExperiment, type LeaseElectionSpec } from '../../src/plans/experiment/spec.ts';

/**
 * `maxExclusivityOverlapMs` on the lease-election kind, without a cluster: the spec's keys and
 * the check per failover from the candidates' believed tenures.
 */
const raw = {
  name: 'x',
  kind: 'lease-election',
  title: 'X',
  cluster: { members: 3 },
  ttlsSeconds: [2],
  hypothesis: { maxExclusivityOverlapMs: 3_000 },
};
const spec = (patch: object = {}): LeaseElectionSpec => {
  const s = validateExperiment({ ...raw, ...patch });
  if (s.kind !== 'lease-election') throw new Error('expected a lease-election experiment');
  return s;
};

const failover = (holderLostMs: number | null): LeaseElectionFailover => {
  const tenures = [
    {
      candidate: 'candidate-1',
      acquiredMs: 0,
      lostMs: holderLostMs,
      ...(holderLostMs === null ? {} : { endedBy: 'lost' as const }),
    },
    { candidate: 'candidate-2', acquiredMs: 4_000, lostMs: 9_000, endedBy: 'run-end' as const },
  ];
  return {
    ttlSeconds: 2,
    candidates: 3,
    firstLeader: 'candidate-1',
    nextLeader: 'candidate-2',
    failoverMs: 2_100,
    keepAlivesPerSecond: 4.5,
    holderFault: 'isolate',
    tenures,
    exclusivity: checkExclusivity(tenures, { endMs: 9_000 }),
  };
};

describe('lease-election: holderFault and maxExclusivityOverlapMs', () => {
  it('defaults to a crashing holder and takes an isolated one', () => {
    expect(spec().holderFault).toBe('crash');
    expect(spec({ holderFault: 'isolate' }).holderFault).toBe('isolate');
    expect(() => spec({ holderFault: 'pause' })).toThrow(BadInputError);
    expect(() => spec({ hypothesis: { maxExclusivityOverlapMs: -1 } })).toThrow(
      /hypothesis\.maxExclusivityOverlapMs/,
    );
  });

  it('judges each failover’s longest overlap against the bound; open-ended is inconclusive', () => {
    const s = spec();
    const [within] = checkLeaseElection(s, [failover(6_000)]);
    expect(within?.verdict).toBe('held');
    expect(within?.name).toContain('TTL 2 s (isolate)');
    expect(within?.observed).toContain('longest overlap 2000 ms');
    expect(checkLeaseElection(s, [failover(8_000)])[0]?.verdict).toBe('deviated');
    expect(checkLeaseElection(s, [failover(null)])[0]?.verdict).toBe('deviated');
    expect(
      checkLeaseElection(spec({ hypothesis: { maxExclusivityOverlapMs: 9_000 } }), [failover(null)])[0]
        ?.verdict,
    ).toBe('inconclusive');
    // Failovers from older results carry no tenures: nothing to judge, no check.
    const { exclusivity: _e, tenures: _t, ...old } = failover(6_000);
    expect(checkLeaseElection(s, [old])).toEqual([]);
  });
});
