import { parseArgs } from 'node:util';
import { BadInputError } from '../../src/errors.ts';
import { isCheckPerfLoad, type CheckPerfLoad } from '../lib/check-perf.ts';

export const OVERHEAD_USAGE = `usage: npm run bench -- overhead [--parts a,b,c,d] [--load s|m|l|xl] [--etcdctl container|host|both]
  [--lab-seconds 30] [--closed-seconds 15] [--single-seconds 10] [--tracker-seconds 8]
  [--tracker-rounds 2] [--reuse-trials 5] [--fresh-trials 2] [--fsync-count 200]
  a: lab driver vs etcdctl check perf; b: one client vs the machine's floor (memory and disk);
  c: leader tracker cost and the flagship's pre-fault window; d: election trials per minute.`;

export const PARTS = ['a', 'b', 'c', 'd'] as const;
export type Part = (typeof PARTS)[number];
export type EtcdctlPlace = 'container' | 'host';

/** The benchmark's arguments, checked before anything starts. */
export interface OverheadArgs {
  /** The flags as given (for the figures file). */
  readonly raw: Readonly<Record<string, string | boolean | undefined>>;
  readonly help: boolean;
  readonly parts: ReadonlySet<Part>;
  /** etcdctl check perf's load level; the lab's part a runs at its rate and client count. */
  readonly load: CheckPerfLoad;
  /** Where etcdctl runs: in a member's container (cluster network), on the host (published ports), or both. */
  readonly etcdctlWhere: readonly EtcdctlPlace[];
  readonly labSeconds: number;
  readonly closedSeconds: number;
  readonly singleSeconds: number;
  readonly trackerSeconds: number;
  readonly trackerRounds: number;
  readonly reuseTrials: number;
  readonly freshTrials: number;
  readonly fsyncCount: number;
}

const ETCDCTL_PLACES: Readonly<Record<string, readonly EtcdctlPlace[]>> = {
  container: ['container'],
  host: ['host'],
  both: ['container', 'host'],
};

/** Parses and checks the arguments (pure); bad input throws BadInputError naming the flag. */
export function parseOverheadArgs(argv: readonly string[]): OverheadArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      parts: { type: 'string', default: 'a,b,c,d' },
      load: { type: 'string', default: 's' },
      etcdctl: { type: 'string', default: 'both' },
      'lab-seconds': { type: 'string', default: '30' },
      'closed-seconds': { type: 'string', default: '15' },
      'single-seconds': { type: 'string', default: '10' },
      'tracker-seconds': { type: 'string', default: '8' },
      'tracker-rounds': { type: 'string', default: '2' },
      'reuse-trials': { type: 'string', default: '5' },
      'fresh-trials': { type: 'string', default: '2' },
      'fsync-count': { type: 'string', default: '200' },
    },
  });
  const positiveInteger = (flag: keyof typeof values): number => {
    const value = Number(values[flag]);
    if (!Number.isInteger(value) || value < 1) {
      throw new BadInputError(`--${flag} must be a whole number >= 1, got "${String(values[flag])}"`);
    }
    return value;
  };
  const parts = new Set<Part>();
  for (const name of values.parts.split(',').map((p) => p.trim())) {
    if (!PARTS.includes(name as Part)) throw new BadInputError(`--parts takes a,b,c,d, got "${name}"`);
    parts.add(name as Part);
  }
  const load = values.load;
  if (!isCheckPerfLoad(load)) throw new BadInputError(`--load must be s, m, l or xl, got "${load}"`);
  const etcdctlWhere = ETCDCTL_PLACES[values.etcdctl];
  if (etcdctlWhere === undefined) {
    throw new BadInputError(`--etcdctl must be container, host or both, got "${values.etcdctl}"`);
  }
  return {
    raw: values,
    help: values.help,
    parts,
    load,
    etcdctlWhere,
    labSeconds: positiveInteger('lab-seconds'),
    closedSeconds: positiveInteger('closed-seconds'),
    singleSeconds: positiveInteger('single-seconds'),
    trackerSeconds: positiveInteger('tracker-seconds'),
    trackerRounds: positiveInteger('tracker-rounds'),
    reuseTrials: positiveInteger('reuse-trials'),
    freshTrials: positiveInteger('fresh-trials'),
    fsyncCount: positiveInteger('fsync-count'),
  };
}
