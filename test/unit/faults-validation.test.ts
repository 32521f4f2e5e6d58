import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors.ts';
import type { HostCapabilities, Probe } from '../../src/faults/capabilities.ts';
import { BandwidthFault } from '../../src/faults/network/bandwidth.ts';
import { chooseDelayMechanism, DelayFault } from '../../src/faults/network/delay.ts';
import { egressLinks, resolvePartition, type PartitionShape } from '../../src/faults/network/links.ts';
import { chooseLossMechanism, LossFault } from '../../src/faults/network/loss.ts';
import { ProcessFault } from '../../src/faults/process/process-fault.ts';
import { CpuThrottleFault } from '../../src/faults/resources/cpu-throttle.ts';
import { resolveTargetNames, seededRandom, type ClusterView } from '../../src/faults/targets.ts';

const five: ClusterView = { members: ['m1', 'm2', 'm3', 'm4', 'm5'], leader: 'm3' };
const three: ClusterView = { members: ['m1', 'm2', 'm3'], leader: 'm1' };
const rng = (): (() => number) => seededRandom(42);

const yes: Probe = { available: true, detail: 'ok' };
const no: Probe = { available: false, detail: 'missing' };
function caps(overrides: Partial<HostCapabilities> = {}): HostCapabilities {
  return {
    root: true,
    sudo: false,
    tcNetem: no,
    tcTbf: yes,
    tcHtb: yes,
    iptables: yes,
    iptablesStatistic: yes,
    nfqueue: yes,
    nfqDelayHelper: yes,
    nsenter: yes,
    cgroupVersion: 1,
    cgroupFreezer: yes,
    cpuQuota: yes,
    blkioThrottle: yes,
    ...overrides,
  };
}

function badInput(fn: () => unknown, message: RegExp): void {
  expect(fn).toThrow(BadInputError);
  expect(fn).toThrow(message);
}

describe('target roles', () => {
  it('resolves leader, follower, minority and majority against the view', () => {
    expect(resolveTargetNames('leader', five, rng())).toEqual(['m3']);
    const follower = resolveTargetNames('follower', five, rng());
    expect(follower).toHaveLength(1);
    expect(follower).not.toContain('m3');
    const minority = resolveTargetNames('minority', five, rng());
    const majority = resolveTargetNames('majority', five, rng());
    expect(minority).toHaveLength(2);
    expect(minority).toContain('m3');
    expect(majority).toHaveLength(3);
    expect([...minority, ...majority].sort()).toEqual(five.members);
    expect(resolveTargetNames('minority', three, rng())).toEqual(['m1']);
    expect(resolveTargetNames('majority', three, rng())).toEqual(['m2', 'm3']);
  });

  it('picks the same follower for the same seed, and different ones across seeds', () => {
    const pick = (seed: number): string[] => resolveTargetNames('follower', five, seededRandom(seed));
    expect(pick(1)).toEqual(pick(1));
    const picks = new Set(Array.from({ length: 40 }, (_, seed) => pick(seed)[0]));
    expect(picks.size).toBe(4);
    expect(picks.has('m3')).toBe(false);
  });

  it('refuses unknown members, duplicates, empty lists and roles without a leader', () => {
    badInput(() => resolveTargetNames('m9', five, rng()), /no member "m9"/);
    badInput(() => resolveTargetNames(['m1', 'm1'], five, rng()), /twice/);
    badInput(() => resolveTargetNames([], five, rng()), /no members/);
    badInput(() => resolveTargetNames('leader', { members: ['m1'] }, rng()), /needs a leader/);
    badInput(() => resolveTargetNames('minority', { members: ['m1'], leader: 'm1' }, rng()), /no minority/);
  });
});

describe('partition shapes', () => {
  const resolve = (shape: PartitionShape, view = five) => resolvePartition(shape, view, rng());

  it('isolation blocks both directions between the target and everyone else', () => {
    const { groups, blocked } = resolve({ kind: 'split', groups: ['leader', 'rest'] });
    expect(groups).toEqual([['m3'], ['m1', 'm2', 'm4', 'm5']]);
    expect(blocked).toHaveLength(8);
    expect(blocked).toContainEqual({ from: 'm3', to: 'm1' });
    expect(blocked).toContainEqual({ from: 'm1', to: 'm3' });
    expect(blocked.every((l) => l.from === 'm3' || l.to === 'm3')).toBe(true);
  });

  it('a 2|3 split blocks exactly the 12 cross links', () => {
    const { blocked } = resolve({ kind: 'split', groups: [['m1', 'm2'], 'rest'] });
    expect(blocked).toHaveLength(12);
    expect(blocked).not.toContainEqual({ from: 'm1', to: 'm2' });
    expect(blocked).not.toContainEqual({ from: 'm3', to: 'm4' });
  });

  it('one-way blocks only from → to', () => {
    const { blocked } = resolve({ kind: 'one-way', from: 'm1', to: ['m2', 'm3'] }, three);
    expect(blocked).toEqual([
      { from: 'm1', to: 'm2' },
      { from: 'm1', to: 'm3' },
    ]);
  });

  it('a bridge keeps the bridge member connected to both sides', () => {
    const { blocked } = resolve({
      kind: 'bridge',
      sides: [
        ['m1', 'm2'],
        ['m4', 'm5'],
      ],
      bridge: 'm3',
    });
    expect(blocked).toHaveLength(8);
    expect(blocked.some((l) => l.from === 'm3' || l.to === 'm3')).toBe(false);
  });

  it('refuses overlapping groups, members left out, empty groups and a single group', () => {
    badInput(
      () =>
        resolve({
          kind: 'split',
          groups: [
            ['m1', 'm2'],
            ['m2', 'm3', 'm4', 'm5'],
          ],
        }),
      /overlap: m2/,
    );
    badInput(() => resolve({ kind: 'split', groups: ['leader', 'minority', 'rest'] }), /overlap: m3/);
    badInput(() => resolve({ kind: 'split', groups: [['m1'], ['m2']] }), /leaves out m3, m4, m5/);
    badInput(() => resolve({ kind: 'split', groups: [['m1']] }), /at least two groups/);
    badInput(
      () => resolve({ kind: 'split', groups: [five.members, 'rest'] }),
      /group 2 resolves to no members/,
    );
    badInput(() => resolve({ kind: 'split', groups: ['rest', 'rest'] }), /only one group/);
    badInput(() => resolve({ kind: 'one-way', from: 'm1', to: ['m1', 'm2'] }), /overlap: m1/);
    badInput(() => resolve({ kind: 'bridge', sides: [['m1'], ['m2']], bridge: 'm1' }), /overlap: m1/);
  });

  it('allows members left out when asked', () => {
    const { blocked } = resolve({ kind: 'split', groups: [['m1'], ['m2']], allowUnlisted: true });
    expect(blocked).toEqual([
      { from: 'm1', to: 'm2' },
      { from: 'm2', to: 'm1' },
    ]);
  });

  it('egress links go from each target to every other member, or only to the given receivers', () => {
    expect(egressLinks(['m1'], three.members)).toEqual([
      { from: 'm1', to: 'm2' },
      { from: 'm1', to: 'm3' },
    ]);
    expect(egressLinks(['m1'], three.members, ['m3'])).toEqual([{ from: 'm1', to: 'm3' }]);
    expect(egressLinks(['m1'], three.members, ['m1'])).toEqual([]);
  });
});

describe('fault values', () => {
  it.each([
    ['negative delay', () => new DelayFault({ target: 'm1', delayMs: -1 }), /delayMs must be from 0/],
    ['fractional delay', () => new DelayFault({ target: 'm1', delayMs: 1.5 }), /whole number/],
    ['NaN delay', () => new DelayFault({ target: 'm1', delayMs: NaN }), /delayMs/],
    ['negative jitter', () => new DelayFault({ target: 'm1', delayMs: 5, jitterMs: -1 }), /jitterMs/],
    [
      'loss over 100 %',
      () => new LossFault({ target: 'm1', lossPercent: 101 }),
      /lossPercent must be from 0 %/,
    ],
    ['negative loss', () => new LossFault({ target: 'm1', lossPercent: -3 }), /lossPercent/],
    ['zero bandwidth', () => new BandwidthFault({ target: 'm1', rateKbit: 0 }), /rateKbit/],
    ['CPU share under 1 %', () => new CpuThrottleFault({ target: 'm1', cpus: 0.001 }), /cpus/],
    [
      'an unknown process action',
      () => new ProcessFault({ action: 'nuke' as 'kill', target: 'm1' }),
      /process action must be one of/,
    ],
  ] as const)('refuses %s', (_label, make, message) => {
    badInput(make, message);
  });

  it('describes itself as plain data with the configured values and target', () => {
    expect(new DelayFault({ target: 'leader', delayMs: 100, jitterMs: 10 }).describe()).toEqual({
      fault: 'delay',
      target: 'leader',
      delayMs: 100,
      jitterMs: 10,
    });
    expect(new LossFault({ target: ['m1', 'm2'], lossPercent: 30 }).describe()).toEqual({
      fault: 'loss',
      target: ['m1', 'm2'],
      lossPercent: 30,
    });
  });
});

describe('mechanism choice', () => {
  it('uses tc netem for delay and loss where the kernel has it, NFQUEUE / iptables otherwise', () => {
    expect(chooseDelayMechanism(caps({ tcNetem: yes }), false).mechanism).toBe('tc-netem');
    expect(chooseDelayMechanism(caps(), false).mechanism).toBe('nfq-delay-ingress');
    expect(chooseDelayMechanism(caps({ tcNetem: yes }), true).mechanism).toBe('nfq-delay-ingress');
    expect(chooseLossMechanism(caps({ tcNetem: yes }), false).mechanism).toBe('tc-netem');
    expect(chooseLossMechanism(caps(), false).mechanism).toBe('iptables-statistic-ingress');
  });

  it('takes the same mechanism for every scope, and the fallback when htb cannot sort traffic into bands', () => {
    const netem = caps({ tcNetem: yes });
    for (const scope of ['peers', 'clients', 'all'] as const) {
      expect(chooseDelayMechanism(netem, false, scope).mechanism).toBe('tc-netem');
      expect(chooseLossMechanism(netem, false, scope).mechanism).toBe('tc-netem');
      expect(chooseLossMechanism(caps(), false, scope).mechanism).toBe('iptables-statistic-ingress');
    }
    expect(chooseDelayMechanism(caps(), false, 'clients').mechanism).toBe('nfq-delay-client-ingress');
    expect(chooseDelayMechanism(caps(), false, 'all').mechanism).toBe('nfq-delay-ingress');
    const noHtb = chooseDelayMechanism(caps({ tcNetem: yes, tcHtb: no }), false);
    expect(noHtb.mechanism).toBe('nfq-delay-ingress');
    expect(noHtb.detail).toMatch(/tc htb with u32 filters/);
    expect(new BandwidthFault({ target: 'm1', rateKbit: 100 }).check(caps({ tcHtb: no }))).toMatchObject({
      available: false,
      detail: expect.stringMatching(/htb/) as unknown,
    });
  });

  it('refuses a scope it does not know, and a client scope on a directed link', () => {
    badInput(
      () => new DelayFault({ target: 'm1', delayMs: 10, scope: 'everyone' as 'all' }),
      /scope must be one of peers, clients, all/,
    );
    badInput(
      () => new LossFault({ target: 'm1', lossPercent: 5, to: 'm2', scope: 'all' }),
      /scope all with "to"/,
    );
  });

  it('refuses with the reason when no mechanism can produce the fault', () => {
    const none = chooseDelayMechanism(
      caps({ nfqDelayHelper: { available: false, detail: 'gcc missing' } }),
      false,
    );
    expect(none).toMatchObject({ available: false, mechanism: null });
    expect(none.detail).toMatch(/gcc missing/);
    expect(none.detail).toMatch(/tc netem: missing/);
    expect(chooseLossMechanism(caps({ root: false, sudo: false }), false).detail).toMatch(
      /root or passwordless sudo/,
    );
    expect(new CpuThrottleFault({ target: 'm1', cpus: 0.5 }).check(caps({ cpuQuota: no }))).toMatchObject({
      available: false,
    });
    expect(
      new ProcessFault({ action: 'pause', target: 'm1' }).check(caps({ cgroupFreezer: no })).available,
    ).toBe(false);
    expect(new BandwidthFault({ target: 'm1', rateKbit: 1000 }).check(caps({ tcTbf: no })).detail).toMatch(
      /tc tbf: missing/,
    );
  });
});
