import { describe, expect, it } from 'vitest';
import { parseOverheadArgs } from '../../bench/overhead/args.ts';
import { BadInputError } from '../../src/errors.ts';

describe('overhead benchmark arguments', () => {
  it('defaults to every part at check perf load s, etcdctl in the container and on the host', () => {
    const args = parseOverheadArgs([]);
    expect([...args.parts]).toEqual(['a', 'b', 'c', 'd']);
    expect(args).toMatchObject({
      help: false,
      load: 's',
      etcdctlWhere: ['container', 'host'],
      labSeconds: 30,
      trackerRounds: 2,
      fsyncCount: 200,
    });
  });

  it('takes parts, load, place and counts', () => {
    const args = parseOverheadArgs([
      '--parts',
      'b, d',
      '--load',
      'xl',
      '--etcdctl',
      'host',
      '--reuse-trials',
      '9',
    ]);
    expect([...args.parts]).toEqual(['b', 'd']);
    expect(args).toMatchObject({ load: 'xl', etcdctlWhere: ['host'], reuseTrials: 9 });
    expect(parseOverheadArgs(['--help']).help).toBe(true);
  });

  it.each([
    [['--parts', 'a,e'], /--parts takes a,b,c,d, got "e"/],
    [['--load', 'huge'], /--load must be s, m, l or xl/],
    [['--etcdctl', 'vm'], /--etcdctl must be container, host or both/],
    [['--lab-seconds', '0'], /--lab-seconds must be a whole number >= 1, got "0"/],
    [['--fsync-count', '1.5'], /--fsync-count must be a whole number/],
  ])('refuses %j before anything starts', (argv, message) => {
    expect(() => parseOverheadArgs(argv)).toThrow(BadInputError);
    expect(() => parseOverheadArgs(argv)).toThrow(message);
  });
});
