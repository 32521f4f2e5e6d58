import { CommanderError } from 'commander';
import { BadInputError, LabError } from '../errors.ts';

/** How the CLI reports an error that ends a command: one line naming the flag or field, then details. */
export interface ErrorReport {
  /** The `etcd-lab: …` line: never more than one line, never a stack trace. */
  readonly line: string;
  /** Further lines worth seeing (a member's last log lines when a cluster would not start); may be empty. */
  readonly details: readonly string[];
}

// commander: "error: option '-m, --members <n>' argument '9' is invalid. expected …"
const INVALID_OPTION = /^error: option '([^']+)' argument '[\s\S]*' is invalid\. ([\s\S]*)$/;
// commander: "error: command-argument value 'x' is invalid for argument 'experiment'. …"
const INVALID_ARGUMENT =
  /^error: command-argument value '[\s\S]*' is invalid for argument '([^']+)'\. ([\s\S]*)$/;

/** "-m, --members <n>" → "-m/--members"; "--image <image>" → "--image". */
const flagName = (flags: string): string =>
  flags
    .split(/[ ,|]+/)
    .filter((part) => part.startsWith('-'))
    .join('/');

/** Joins a message's lines with "; " (after a line ending in ":" a space does). */
const oneLine = (text: string): string =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .reduce(
      (joined, line) => (joined === '' ? line : `${joined}${joined.endsWith(':') ? ' ' : '; '}${line}`),
      '',
    );

/**
 * The report for an error that escaped a command. Usage errors and bad input become exactly one
 * line (a spec's list of invalid fields is joined with "; "); a lab failure keeps its first line on
 * the `etcd-lab:` line and the rest as details. Errors that are not the lab's own are reported by
 * message alone: a stack trace helps nobody who typed a wrong flag (ETCD_LAB_DEBUG=1 shows it).
 */
export function errorReport(error: unknown): ErrorReport {
  if (error instanceof CommanderError) {
    const option = INVALID_OPTION.exec(error.message);
    if (option?.[1] !== undefined)
      return { line: `etcd-lab: ${flagName(option[1])}: ${oneLine(option[2] ?? '')}`, details: [] };
    const argument = INVALID_ARGUMENT.exec(error.message);
    if (argument?.[1] !== undefined)
      return { line: `etcd-lab: <${argument[1]}>: ${oneLine(argument[2] ?? '')}`, details: [] };
    return { line: `etcd-lab: ${oneLine(error.message.replace(/^error: /, ''))}`, details: [] };
  }
  if (error instanceof BadInputError) return { line: `etcd-lab: ${oneLine(error.message)}`, details: [] };
  const message = error instanceof Error ? error.message : String(error);
  const [first = '', ...rest] = message.split('\n');
  const prefix = error instanceof LabError ? 'etcd-lab: ' : 'etcd-lab: internal error: ';
  const details = rest.filter((line) => line.trim() !== '');
  if (process.env.ETCD_LAB_DEBUG === '1' && error instanceof Error && error.stack) {
    details.push(...error.stack.split('\n'));
  }
  const headline = first.trim() || (error instanceof Error ? error.name : 'unknown error');
  return { line: `${prefix}${headline}`, details };
}
