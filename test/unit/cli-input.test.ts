import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerQuorum } from '../../src/cli/commands/quorum.ts';
import { errorReport } from '../../src/cli/error-line.ts';
import { durationHours, imageReference, integerIn } from '../../src/cli/options.ts';
import { BadInputError, ClusterError } from '../../src/errors.ts';
import { imageReferenceProblem } from '../../src/host/image-reference.ts';

describe('image references', () => {
  it.each([
    'etcd',
    'gcr.io/etcd-development/etcd:v3.5.21',
    'quay.io/coreos/etcd:v3.4.23',
    'etcd-lab/etcd:3.4.23-host-9abd59ad5107',
    'localhost:5000/team/etcd:Custom_Tag-1.2',
    'registry.Example.com/etcd',
    '[::1]:5000/etcd',
    `etcd@sha256:${'a'.repeat(64)}`,
    `gcr.io/etcd-development/etcd:v3.5.21@sha256:${'0'.repeat(64)}`,
  ])('accepts %s', (reference) => {
    expect(imageReferenceProblem(reference)).toBeUndefined();
  });

  it.each([
    ['', /got an empty string/],
    ['  ', /got an empty string/],
    ['a b', /got "a b"/],
    ['Etcd', /must be lowercase/],
    ['team/Etcd:v1', /must be lowercase/],
    ['etcd:', /got "etcd:"/],
    ['etcd::v1', /got "etcd::v1"/],
    ['-etcd', /got "-etcd"/],
    ['etcd/', /got "etcd\/"/],
    [`etcd:${'x'.repeat(129)}`, /expected an image reference/],
    ['etcd@sha256:abc', /got "etcd@sha256:abc"/],
    [`${'a'.repeat(256)}`, /longer than 255 characters/],
  ])('refuses %j', (reference, why) => {
    expect(imageReferenceProblem(reference)).toMatch(why);
  });

  it('refuses through the --image parser in commander’s error type', () => {
    expect(() => imageReference('')).toThrow(InvalidArgumentError);
    expect(imageReference('etcd:v3')).toBe('etcd:v3');
  });
});

describe('option parsers', () => {
  it('reads durations with one unit, and refuses zero unless allowed', () => {
    expect(durationHours()('90m')).toBe(1.5);
    expect(durationHours({ allowZero: true })('0h')).toBe(0);
    expect(() => durationHours()('0s')).toThrow(/longer than 0/);
    expect(() => durationHours()('1 decade')).toThrow(/one unit of s, m, h, d, w or y/);
    // Enough digits parse to Infinity: refused here, not later in a field's name.
    expect(() => durationHours()(`${'9'.repeat(400)}y`)).toThrow(/too long to count/);
  });

  it('reads integers in a range', () => {
    expect(integerIn(1, 7)('7')).toBe(7);
    expect(() => integerIn(1, 7)('2.5')).toThrow(/from 1 to 7, got "2.5"/);
  });
});

describe('error reports', () => {
  it('names the flag of a value commander refused, on one line', () => {
    const error = new CommanderError(
      1,
      'commander.invalidArgument',
      `error: option '-m, --members <n>' argument '9' is invalid. expected an integer from 1 to 7, got "9"`,
    );
    expect(errorReport(error)).toEqual({
      line: 'etcd-lab: -m/--members: expected an integer from 1 to 7, got "9"',
      details: [],
    });
  });

  it('keeps commander’s other usage errors, suggestions included, on one line', () => {
    const error = new CommanderError(
      1,
      'commander.unknownOption',
      "error: unknown option '--al'\n(Did you mean --all?)",
    );
    expect(errorReport(error).line).toBe("etcd-lab: unknown option '--al'; (Did you mean --all?)");
  });

  it('joins the invalid fields of a spec into one line', () => {
    const error = new BadInputError(
      'lab/x.yaml is invalid:\n  method.0.at: expected a number\n  name: required',
    );
    expect(errorReport(error)).toEqual({
      line: 'etcd-lab: lab/x.yaml is invalid: method.0.at: expected a number; name: required',
      details: [],
    });
  });

  it('keeps a lab failure’s log tail as details under its one line', () => {
    const error = new ClusterError(
      'etcd member m1 exited (code 2) before it was ready: bad flag\nLast log lines:\n  x',
    );
    expect(errorReport(error)).toEqual({
      line: 'etcd-lab: etcd member m1 exited (code 2) before it was ready: bad flag',
      details: ['Last log lines:', '  x'],
    });
  });

  it('reports an error that is not the lab’s own by its message, without a stack', () => {
    const report = errorReport(new TypeError('x is not a function'));
    expect(report.line).toBe('etcd-lab: internal error: x is not a function');
    expect(report.details.join('\n')).not.toMatch(/\s+at /);
  });
});

describe('quorum: bad input names the flag', () => {
  /** `etcd-lab quorum …` as the CLI runs it (pure arithmetic: no cluster starts), to its one error line. */
  async function quorumRefusal(args: readonly string[]): Promise<string> {
    const program = new Command().configureOutput({ outputError: () => undefined }).exitOverride();
    registerQuorum(program);
    const refused: unknown = await program.parseAsync(['node', 'etcd-lab', 'quorum', ...args]).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (refused === undefined) throw new Error(`quorum ${args.join(' ')} was accepted`);
    return errorReport(refused).line;
  }

  it.each([
    [['--mttf', '1y'], /^etcd-lab: --mttf needs --mttr/],
    [['--mttf', '0', '--mttr', '4h'], /^etcd-lab: --mttf: expected a number and one unit .*got "0"$/],
    [['--mttf', '0y', '--mttr', '4h'], /^etcd-lab: --mttf: must be longer than 0, got "0y"$/],
    [['--mttf', `${'9'.repeat(400)}y`, '--mttr', '4h'], /^etcd-lab: --mttf: too long to count/],
    [['--mttf', '1y', '--mttr', `${'9'.repeat(400)}h`], /^etcd-lab: --mttr: too long to count/],
  ])('quorum %j', async (args, says) => {
    const line = await quorumRefusal(args);
    expect(line).toMatch(says);
    expect(line).not.toMatch(/mttfHours|mttrHours|internal error/);
  });
});
