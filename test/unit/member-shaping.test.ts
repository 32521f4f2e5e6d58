import { describe, expect, it } from 'vitest';
import {
  conflictWith,
  describeTree,
  desiredTree,
  netemLimit,
  treeCommands,
  type Claim,
} from '../../src/faults/network/member-shaping.ts';

// The composed tc tree of one member's network faults: the exact tc argument lists, pinned.
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
