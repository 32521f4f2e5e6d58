import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BadInputError } from '../../src/errors.ts';
import type { HostCapabilities, Probe } from '../../src/faults/capabilities.ts';
import {
  createFault,
  cutsTargetsOff,
  FAULT_CATALOG,
  FAULT_KINDS,
  LEADER_TAKING_KINDS,
  measuresPeerRtt,
  onlyMechanism,
  tookLeadership,
  type FaultKind,
} from '../../src/faults/catalog.ts';
import { validateExperiment, type FaultStep } from '../../src/plans/experiment/spec.ts';
import { LEADER_TAKING } from '../../src/plans/experiment/hypothesis.ts';
import { LEADER_FAULTS } from '../../src/measure/election-trial.ts';
import { MECHANISMS } from '../../src/plans/quorum/matrix.ts';
import { LEADER_LOSS_FAULTS } from '../../src/plans/sweep/spec.ts';

const yes: Probe = { available: true, detail: 'ok' };
const no: Probe = { available: false, detail: 'missing' };
const host = (overrides: Partial<HostCapabilities> = {}): HostCapabilities => ({
  root: true,
  sudo: false,
  tcNetem: yes,
  tcTbf: yes,
  tcHtb: yes,
  iptables: yes,
  iptablesStatistic: yes,
  nfqueue: yes,
  nfqDelayHelper: yes,
  nsenter: yes,
  cgroupVersion: 2,
  cgroupFreezer: yes,
  cpuQuota: yes,
  blkioThrottle: yes,
  ...overrides,
});
/** Hosts that push the faults onto each of their mechanisms. */
const HOSTS = [host(), host({ tcNetem: no }), host({ cgroupVersion: 1 })];

function experiment(step: Record<string, unknown>) {
  return {
    name: 'catalog',
    title: 'Every kind of the catalog',
    cluster: { members: 3 },
    workload: { ratePerSecond: 10, durationMs: 10_000 },
    method: [{ at: 1_000, ...step }],
    hypothesis: {},
  };
}

function stepOf(kind: FaultKind, extra: Record<string, unknown> = {}): FaultStep {
  const spec = validateExperiment(experiment({ fault: kind, ...FAULT_CATALOG[kind].example, ...extra }));
  if (spec.kind !== 'fault') throw new Error('expected a fault experiment');
  const [step] = spec.method;
  if (step === undefined) throw new Error('no step');
  return step;
}

describe('the fault catalog', () => {
  it('has the kinds experiments have always had, move-leader, restart and bandwidth', () => {
    expect(FAULT_KINDS).toEqual([
      'kill',
      'stop',
      'pause',
      'sigstop',
      'restart',
      'isolate',
      'delay',
      'client-delay',
      'loss',
      'bandwidth',
      'cpu',
      'move-leader',
    ]);
  });

  it.each(FAULT_KINDS)('%s: a settings schema with a target, an example it accepts, a summary', (kind) => {
    const entry = FAULT_CATALOG[kind];
    expect(entry.summary).not.toBe('');
    expect(Object.keys(entry.settings)).toContain('target');
    expect(z.object(entry.settings).strict().safeParse(entry.example).success).toBe(true);
  });

  it.each(FAULT_KINDS)('%s: the experiment schema accepts it as a step, with and without `for`', (kind) => {
    const step = stepOf(kind, { for: 2_000 });
    expect(step.fault).toBe(kind);
    expect(step).toMatchObject({ ...FAULT_CATALOG[kind].example, for: 2_000 });
    const withoutFor = () => validateExperiment(experiment({ fault: kind, ...FAULT_CATALOG[kind].example }));
    if (FAULT_CATALOG[kind].needsDuration) expect(withoutFor).toThrow(/method\.0\.for/);
    else expect(withoutFor).not.toThrow();
  });

  it.each(FAULT_KINDS)(
    '%s: the factory builds a fault whose mechanisms are the ones its traits name',
    (kind) => {
      const step = stepOf(kind, { for: 2_000 });
      const fault = createFault(kind, step as never, 7);
      expect(fault.describe().fault).toBe(fault.name);
      const { traits } = FAULT_CATALOG[kind];
      expect(traits.mechanisms.length).toBeGreaterThan(0);
      const picked = HOSTS.map((caps) => fault.check(caps)).filter((c) => c.available);
      expect(picked.length).toBeGreaterThan(0);
      for (const check of picked) expect(traits.mechanisms).toContain(check.mechanism);
    },
  );

  it.each(FAULT_KINDS)('%s: traits are consistent with each other', (kind) => {
    const { traits } = FAULT_CATALOG[kind];
    // A fault that stops or freezes the process takes the leader with it, at once.
    if (traits.process !== 'untouched') {
      expect(traits.family).toBe('process');
      expect(traits.leadership).toBe('taken-when-targeted');
      expect(traits.actsAt).toBe('at-once');
    }
    if (traits.family === 'network' || traits.family === 'resources') {
      expect(traits.actsAt).toBe('when-in-place');
    }
  });

  it('takes the leader with the faults that always did and restart, and moves it with move-leader', () => {
    expect([...LEADER_TAKING].sort()).toEqual(['isolate', 'kill', 'pause', 'restart', 'sigstop', 'stop']);
    expect(LEADER_TAKING_KINDS).toEqual(['kill', 'stop', 'pause', 'sigstop', 'restart', 'isolate']);
    expect(tookLeadership('restart', true)).toBe(true);
    expect(tookLeadership('kill', true)).toBe(true);
    expect(tookLeadership('kill', false)).toBe(false);
    expect(tookLeadership('delay', true)).toBe(false);
    expect(tookLeadership('move-leader', false)).toBe(true);
    expect(tookLeadership('move-leader', true)).toBe(false);
    expect(tookLeadership('traffic', true)).toBe(false);
  });

  it('reads elections after isolate from the other members, and peer RTT around delay, as before', () => {
    expect(FAULT_KINDS.filter(cutsTargetsOff)).toEqual(['isolate']);
    expect(FAULT_KINDS.filter(measuresPeerRtt)).toEqual(['delay']);
    // Load steps are not faults: no traits.
    expect(cutsTargetsOff('traffic')).toBe(false);
    expect(measuresPeerRtt('burst')).toBe(false);
  });

  it('gives election trials, sweeps and the quorum matrix kinds that take the leader they hit', () => {
    for (const kind of [...LEADER_FAULTS, ...Object.values(LEADER_LOSS_FAULTS), ...MECHANISMS]) {
      expect(FAULT_CATALOG[kind].traits.leadership).toBe('taken-when-targeted');
    }
    // The mechanism a sweep records for its leader faults, as it always has.
    expect(Object.values(LEADER_LOSS_FAULTS).map(onlyMechanism)).toEqual(['sigkill', 'cgroup-freezer']);
  });

  it('names the one mechanism of a process fault, and refuses to for a kind with several', () => {
    expect(onlyMechanism('kill')).toBe('sigkill');
    expect(onlyMechanism('pause')).toBe('cgroup-freezer');
    expect(() => onlyMechanism('delay')).toThrow(/3 mechanisms/);
  });
});

describe('move-leader in an experiment', () => {
  it('hands leadership to one member: follower or a member name, never the leader or a group', () => {
    expect(stepOf('move-leader', { target: 'm2' })).toMatchObject({ target: 'm2' });
    for (const target of ['leader', 'minority', 'all', ['m1', 'm2']]) {
      expect(() => validateExperiment(experiment({ fault: 'move-leader', target }))).toThrow(
        /method\.0\.target/,
      );
    }
    expect(() => validateExperiment(experiment({ fault: 'move-leader', target: 'm4' }))).toThrow(
      /method\.0\.target: no member m4 in a 3-member cluster/,
    );
  });

  it('refuses a group or the leader when built by hand, before anything runs', () => {
    for (const target of ['leader', 'majority', '']) {
      expect(() => createFault('move-leader', { target })).toThrow(BadInputError);
    }
  });
});
