import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { BadInputError } from '../../errors.ts';
import { EXIT } from '../exit-codes.ts';
import type { InitialStore, LinearizabilityOutcome } from '../../checks/linearizable-history.ts';
import type { OperationRecord } from '../../history/operation-record.ts';
import type { WatchOutcome } from '../../checks/watch-history.ts';
import type { WatcherHistory } from '../../checks/watch/types.ts';

export interface CheckCommandOptions {
  /** The checker's time limit (ms); default: the run's, else 60 s. */
  readonly timeLimitMs?: number;
  readonly json?: boolean;
}

/** `--time-limit <s>`: seconds, more than 0 (decimals allowed), to ms. */
export function timeLimitSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400)
    throw new InvalidArgumentError(`expected seconds, more than 0 and at most 86400, got "${value}"`);
  return Math.round(seconds * 1000);
}

/** What a run's result.json says about its linearizability check, if anything usable. */
interface SavedCheck {
  readonly initial: InitialStore | null;
  readonly timeLimitMs?: number;
}

async function savedCheck(dir: string): Promise<SavedCheck | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8'));
  } catch {
    return undefined; // no result.json, or not JSON: the history alone is checked
  }
  const l = (parsed as { linearizability?: Partial<LinearizabilityOutcome> | null } | null)?.linearizability;
  if (l === undefined || l === null) return undefined;
  const i = l.initial;
  const initial =
    i !== null &&
    typeof i === 'object' &&
    typeof i.revision === 'number' &&
    typeof i.keys === 'number' &&
    typeof i.prefix === 'string'
      ? { revision: i.revision, keys: i.keys, prefix: i.prefix }
      : null;
  return { initial, ...(typeof l.timeLimitMs === 'number' ? { timeLimitMs: l.timeLimitMs } : {}) };
}

/** What a run's result.json says about its watch check: where the truth came from. */
async function savedWatch(dir: string): Promise<Partial<WatchOutcome> | undefined> {
  return (await savedResult(dir))?.watch ?? undefined;
}

async function savedResult(dir: string): Promise<{
  linearizability?: unknown;
  watch?: Partial<WatchOutcome> | null;
} | null> {
  try {
    return JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as {
      linearizability?: unknown;
      watch?: Partial<WatchOutcome> | null;
    } | null;
  } catch {
    return null;
  }
}

/**
 * The watchers of a results directory against its history, the truth as the run built it
 * (result.json's `watch`: prefix, initial and final revision, the revisions read back); without
 * it, from the watchers' own request (prefix, start revision) and nothing read back.
 */
async function checkWatchesOf(
  dir: string,
  records: readonly OperationRecord[],
  watchers: readonly WatcherHistory[],
): Promise<WatchOutcome> {
  const { checkRecordedWatches } = await import('../../checks/watch-history.ts');
  const saved = await savedWatch(dir);
  const first = watchers[0]?.request;
  const start = first?.startRevision;
  return checkRecordedWatches(records, watchers, {
    prefix: saved?.prefix ?? first?.range.key ?? '',
    initialRevision: saved?.initialRevision ?? (typeof start === 'number' ? start - 1 : null),
    finalRevision: saved?.finalRevision ?? null,
    ...(saved?.resolved === undefined ? {} : { resolved: saved.resolved }),
    ...(saved?.guarantees === undefined ? {} : { guarantees: saved.guarantees }),
  });
}

const exitOf = (status: 'ok' | 'failed' | 'violation' | 'unknown'): number =>
  status === 'ok' ? EXIT.ok : status === 'unknown' ? EXIT.inconclusive : EXIT.deviated;

/** The worst of several exit codes: a deviation, then an unknown, then success. */
const worstExit = (codes: readonly number[]): number =>
  codes.includes(EXIT.deviated)
    ? EXIT.deviated
    : codes.includes(EXIT.inconclusive)
      ? EXIT.inconclusive
      : EXIT.ok;

/**
 * `etcd-lab check <results dir | history.jsonl>`: re-checks a saved history for
 * linearizability (src/checks/linearizable-history.ts says which operations, and why). A results
 * directory's result.json gives the store the run started from and its time limit, so the run's
 * verdict is reproduced; a bare history.jsonl is checked from absent keys, the revision inferred.
 * A results directory with watches.jsonl has its watchers re-checked too (src/checks/watch-history.ts),
 * the truth as the run built it; the exit code is then the worse of the two.
 * Returns the exit code (0 linearizable, 1 violation, 3 unknown) and writes the answer through
 * `write`; bad input (missing, unreadable, not a history, not one cluster's) throws
 * BadInputError naming the argument.
 */
export async function checkCommand(
  target: string,
  options: CheckCommandOptions,
  write: (text: string) => void,
): Promise<number> {
  const { checkRecordedHistory, outcomeText, selectRecords } =
    await import('../../checks/linearizable-history.ts');
  const { readHistory } = await import('../../history/history.ts');
  const info = await stat(target).catch((error: NodeJS.ErrnoException) => {
    throw new BadInputError(
      `check ${target}: ${error.code === 'ENOENT' ? 'no such file or directory' : `cannot read it (${error.code ?? error.message})`}`,
    );
  });
  let file = target;
  let saved: SavedCheck | undefined;
  let watchesFile: string | undefined;
  if (info.isDirectory()) {
    const watches = join(target, 'watches.jsonl');
    if ((await stat(watches).catch(() => undefined))?.isFile() === true) watchesFile = watches;
    file = join(target, 'history.jsonl');
    const history = await stat(file).catch(() => undefined);
    if (history === undefined || !history.isFile())
      throw new BadInputError(`check ${target}: no history.jsonl in it (not a results directory of a run)`);
    saved = await savedCheck(target);
  } else if (!info.isFile()) {
    throw new BadInputError(`check ${target}: not a file or a directory`);
  }
  const records: OperationRecord[] = [];
  try {
    for await (const record of readHistory(file)) records.push(record);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new BadInputError(`check ${target}: not a history: ${message}`);
  }
  if (records.length === 0) throw new BadInputError(`check ${target}: the history holds no operations`);
  const selection = selectRecords(records);
  if ('problem' in selection) throw new BadInputError(`check ${target}: ${selection.problem}`);
  // A run that watched and did not ask for linearizability (result.json: `linearizability: null`)
  // is re-checked for what it asked: its watchers.
  if (watchesFile !== undefined && (await savedResult(target))?.linearizability === null)
    return writeWatchOutcome(target, records, watchesFile, options, write, []);
  const timeLimitMs = options.timeLimitMs ?? saved?.timeLimitMs;
  // The watchers first: their events resolve the history's indeterminate writes, unless the
  // watch check finds their streams broken (src/checks/linearizable-history.ts).
  let watched: { watchers: WatcherHistory[]; outcome: WatchOutcome } | undefined;
  if (watchesFile !== undefined) {
    const { readWatches } = await import('../../history/watch-file.ts');
    const watchers = await readWatches(watchesFile);
    watched = { watchers, outcome: await checkWatchesOf(target, records, watchers) };
  }
  const { watchTruthProblem } = await import('../../checks/watch-history.ts');
  const prefix = saved?.initial?.prefix ?? watched?.outcome.prefix ?? '';
  const problem = watched === undefined ? undefined : watchTruthProblem(watched.outcome);
  const outcome = checkRecordedHistory(records, {
    initial: saved?.initial ?? null,
    ...(timeLimitMs === undefined ? {} : { timeLimitMs }),
    ...(watched === undefined || prefix === ''
      ? {}
      : {
          watch: {
            watchers: watched.watchers,
            prefix,
            ...(problem === undefined ? {} : { unusable: problem }),
          },
        }),
  });
  if (watchesFile === undefined) {
    write(options.json === true ? `${JSON.stringify(outcome, null, 2)}\n` : `${outcomeText(outcome)}\n`);
    return exitOf(outcome.status);
  }
  write(options.json === true ? '' : `${outcomeText(outcome)}\n\n`);
  return writeWatchOutcome(
    target,
    records,
    watchesFile,
    options,
    write,
    [exitOf(outcome.status)],
    outcome,
    watched?.outcome,
  );
}

/** Re-checks watches.jsonl (unless already checked), writes the answer, returns the worst exit code with `others`. */
async function writeWatchOutcome(
  dir: string,
  records: readonly OperationRecord[],
  watchesFile: string,
  options: CheckCommandOptions,
  write: (text: string) => void,
  others: readonly number[],
  linearizability?: unknown,
  checked?: WatchOutcome,
): Promise<number> {
  const { readWatches } = await import('../../history/watch-file.ts');
  const { watchOutcomeText } = await import('../../checks/watch-history.ts');
  const watch = checked ?? (await checkWatchesOf(dir, records, await readWatches(watchesFile)));
  write(
    options.json === true
      ? `${JSON.stringify({ ...(linearizability === undefined ? {} : { linearizability }), watch }, null, 2)}\n`
      : `${watchOutcomeText(watch)}\n`,
  );
  return worstExit([...others, exitOf(watch.status)]);
}

/** `etcd-lab check`. Exit codes: 0 linearizable, 1 violation, 3 unknown (time limit), 2 bad input. */
export function registerCheck(program: Command): void {
  program
    .command('check')
    .description(
      "re-check a saved history for linearizability: a results directory (from its result.json: the store the run started from) or a history.jsonl; a results directory's watches.jsonl for etcd's watch guarantees too",
    )
    .argument('<history>', 'results directory or history.jsonl')
    .option(
      '--time-limit <s>',
      "the checker's time limit in seconds (default: the run's, else 60)",
      timeLimitSeconds,
    )
    .option('--json', 'print the outcome as JSON', false)
    .addHelpText(
      'after',
      `
Exit codes:
  0    linearizable (and, with watches.jsonl, every watch guarantee kept)
  1    not linearizable, or a watch guarantee broken: the violation is printed
  2    bad input: missing, unreadable, not a history, or not one cluster's history
  3    unknown: the time limit ran out, or nothing acknowledged to check — never "linearizable"
`,
    )
    .action(async (target: string, options: { timeLimit?: number; json: boolean }) => {
      process.exitCode = await checkCommand(
        target,
        {
          json: options.json,
          ...(options.timeLimit === undefined ? {} : { timeLimitMs: options.timeLimit }),
        },
        (text) => process.stdout.write(text),
      );
    });
}
