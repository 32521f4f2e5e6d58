import { describe, expect, it } from 'vitest';
import type { FaultContext } from '../../src/faults/fault.ts';
import { queueRule } from '../../src/faults/network/delay.ts';
import { ingressMatches } from '../../src/faults/network/ingress-rules.ts';
import { insertRuleArgs } from '../../src/faults/network/iptables.ts';
import { egressLinks } from '../../src/faults/network/links.ts';
import { randomDropRule } from '../../src/faults/network/loss.ts';
import {
  conflictWith,
  describeTree,
  desiredTree,
  netemLimit,
  treeCommands,
  type Claim,
} from '../../src/faults/network/member-shaping.ts';

// One member's network faults: the exact tc and iptables argument lists, pinned.
const delay: Claim = { faultId: 'delay:m1', scope: 'peers', impairment: { delayMs: 100 }, viaTc: true };
const lossAll: Claim = { faultId: 'loss:m1:all', scope: 'all', impairment: { lossPercent: 10 }, viaTc: true };
const rate: Claim = {
  faultId: 'bandwidth:m1',
  scope: 'peers',
  impairment: { rate: { kbit: 4000, burstBytes: 16384, latencyMs: 200 } },
  viaTc: true,
};
const dev = ['dev', 'eth0'];

describe("a member's composed tc tree", () => {
  it('builds the htb classifier once, with the peer and client port filters, then the band chains', () => {
    expect(treeCommands(undefined, desiredTree([delay], true))).toEqual([
      ['qdisc', 'add', ...dev, 'root', 'handle', '1:', 'htb', 'default', '30'],
      ['class', 'add', ...dev, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10gbit', 'quantum', '1514'],
      [
        'class',
        'add',
        ...dev,
        'parent',
        '1:1',
        'classid',
        '1:10',
        'htb',
        'rate',
        '10gbit',
        'quantum',
        '1514',
      ],
      [
        'class',
        'add',
        ...dev,
        'parent',
        '1:1',
        'classid',
        '1:20',
        'htb',
        'rate',
        '10gbit',
        'quantum',
        '1514',
      ],
      [
        'class',
        'add',
        ...dev,
        'parent',
        '1:1',
        'classid',
        '1:30',
        'htb',
        'rate',
        '10gbit',
        'quantum',
        '1514',
      ],
      [
        ...['filter', 'add', ...dev, 'parent', '1:', 'protocol', 'ip', 'prio', '1'],
        ...['u32', 'match', 'ip', 'dport', '2380', '0xffff', 'flowid', '1:10'],
      ],
      [
        ...['filter', 'add', ...dev, 'parent', '1:', 'protocol', 'ip', 'prio', '1'],
        ...['u32', 'match', 'ip', 'sport', '2380', '0xffff', 'flowid', '1:10'],
      ],
      [
        ...['filter', 'add', ...dev, 'parent', '1:', 'protocol', 'ip', 'prio', '1'],
        ...['u32', 'match', 'ip', 'sport', '2379', '0xffff', 'flowid', '1:20'],
      ],
      [
        'qdisc',
        'add',
        ...dev,
        'parent',
        '1:10',
        'handle',
        '10:',
        'netem',
        'limit',
        '10000',
        'delay',
        '100ms',
      ],
    ]);
  });

  it('composes delay, loss and rate, and healing one changes only its part', () => {
    const one = desiredTree([delay], true);
    const two = desiredTree([delay, lossAll], true);
    expect(treeCommands(one, two)).toEqual([
      [
        'qdisc',
        'change',
        ...dev,
        'parent',
        '1:10',
        'handle',
        '10:',
        'netem',
        'limit',
        '10000',
        'delay',
        '100ms',
        'loss',
        '10%',
      ],
      [
        'qdisc',
        'add',
        ...dev,
        'parent',
        '1:20',
        'handle',
        '20:',
        'netem',
        'limit',
        '1000',
        'delay',
        '0ms',
        'loss',
        '10%',
      ],
    ]);
    const three = desiredTree([delay, lossAll, rate], true);
    expect(treeCommands(two, three)).toEqual([
      [
        'qdisc',
        'add',
        ...dev,
        'parent',
        '10:1',
        'handle',
        '11:',
        'tbf',
        'rate',
        '4000kbit',
        'burst',
        '16384',
        'latency',
        '200ms',
      ],
    ]);
    expect(describeTree(three)).toBe(
      'peers: netem limit 10000 delay 100ms loss 10% → tbf rate 4000kbit burst 16384 latency 200ms; clients: netem limit 1000 delay 0ms loss 10%',
    );
    // Heal the loss: delay and rate stay, the client band goes back to untouched.
    const healed = desiredTree([delay, rate], true);
    expect(treeCommands(three, healed)).toEqual([
      [
        'qdisc',
        'change',
        ...dev,
        'parent',
        '1:10',
        'handle',
        '10:',
        'netem',
        'limit',
        '10000',
        'delay',
        '100ms',
      ],
      ['qdisc', 'del', ...dev, 'parent', '1:20', 'handle', '20:'],
    ]);
    // Heal the delay: netem stays as the rate's parent (delay 0), so no queue is torn down.
    expect(treeCommands(healed, desiredTree([rate], true))).toEqual([
      [
        'qdisc',
        'change',
        ...dev,
        'parent',
        '1:10',
        'handle',
        '10:',
        'netem',
        'limit',
        '1000',
        'delay',
        '0ms',
      ],
    ]);
    expect(treeCommands(desiredTree([rate], true), desiredTree([], true))).toEqual([
      ['qdisc', 'del', ...dev, 'root'],
    ]);
    expect(treeCommands(undefined, desiredTree([], true))).toEqual([]);
  });

  it('without netem the rate is the band’s leaf, and claims made by iptables or NFQUEUE stay out of the tree', () => {
    const nfqDelay: Claim = { ...delay, viaTc: false };
    const tree = desiredTree([nfqDelay, rate], false);
    expect(tree).toEqual({
      peers: [
        {
          parent: '1:10',
          handle: '10:',
          kind: 'tbf',
          args: ['rate', '4000kbit', 'burst', '16384', 'latency', '200ms'],
        },
      ],
      clients: [],
    });
    expect(() => desiredTree([delay], false)).toThrow(/need sch_netem/);
  });

  it('sizes netem’s queue to the delay at 100 000 packets/s, never under its default 1000', () => {
    expect(netemLimit(0, 0)).toBe(1_000);
    expect(netemLimit(5, 0)).toBe(1_000);
    expect(netemLimit(100, 0)).toBe(10_000);
    expect(netemLimit(100, 40)).toBe(14_000);
    expect(netemLimit(60_000, 0)).toBe(6_000_000);
  });

  it('refuses a second fault that sets the same thing on the same traffic, whatever produces it', () => {
    const delayAll: Claim = {
      faultId: 'delay:m1:all',
      scope: 'all',
      impairment: { delayMs: 5 },
      viaTc: false,
    };
    const clientDelay: Claim = {
      faultId: 'client-delay:m1',
      scope: 'clients',
      impairment: { delayMs: 50 },
      viaTc: false,
    };
    expect(conflictWith([delay], delayAll)).toBe(
      'delay:m1:all would set delay on peers traffic, which delay:m1 already sets: heal it first',
    );
    expect(conflictWith([clientDelay], delayAll)).toMatch(/on clients traffic, which client-delay:m1/);
    expect(conflictWith([delay], clientDelay)).toBeUndefined();
    expect(conflictWith([delay, rate], lossAll)).toBeUndefined();
    expect(conflictWith([delay], { ...delay })).toBeUndefined(); // the same fault again replaces itself
  });
});

// The ingress fallback (no netem): the same scopes, as iptables rules in the receivers' namespaces.
describe('the ingress fallback’s iptables rules, by scope', () => {
  const ips: Record<string, string> = { m1: '172.20.0.2', m2: '172.20.0.3', m3: '172.20.0.4' };
  const ctx = { cluster: { member: (name: string) => ({ ip: ips[name] ?? '' }) } } as unknown as FaultContext;
  const links = egressLinks(['m1'], ['m1', 'm2', 'm3']);
  const tag = 'etcdlab-run1-loss-m1';

  it('peers: each peer matches what arrives from the target; clients: the target matches its clients’ requests', () => {
    expect(Object.fromEntries(ingressMatches(ctx, links, ['m1'], 'peers'))).toEqual({
      m2: [['-s', '172.20.0.2']],
      m3: [['-s', '172.20.0.2']],
    });
    expect(Object.fromEntries(ingressMatches(ctx, links, ['m1'], 'clients'))).toEqual({
      m1: [['-i', 'eth0', '-p', 'tcp', '--dport', '2379']],
    });
    expect([...ingressMatches(ctx, links, ['m1'], 'all').keys()].sort()).toEqual(['m1', 'm2', 'm3']);
  });

  it('loss drops at random on INPUT; delay queues on PREROUTING, bypassed when no helper listens', () => {
    expect(insertRuleArgs(tag, randomDropRule(['-s', '172.20.0.2'], '0.1000'))).toEqual([
      ...['-w', '-t', 'filter', '-I', 'INPUT', '-s', '172.20.0.2'],
      ...['-m', 'statistic', '--mode', 'random', '--probability', '0.1000'],
      ...['-m', 'comment', '--comment', tag, '-j', 'DROP'],
    ]);
    expect(insertRuleArgs(tag, queueRule(['-i', 'eth0', '-p', 'tcp', '--dport', '2379'], 1007))).toEqual([
      ...['-w', '-t', 'mangle', '-I', 'PREROUTING', '-i', 'eth0', '-p', 'tcp', '--dport', '2379'],
      ...['-m', 'comment', '--comment', tag, '-j', 'NFQUEUE', '--queue-num', '1007', '--queue-bypass'],
    ]);
  });
});
