import { inNetns, mustInNetns } from '../host-command.ts';

/** Every rule the lab adds carries `-m comment --comment etcd-lab:<runId>:<faultId>`. */
export const RULE_TAG_PREFIX = 'etcd-lab:';

export function ruleTag(runId: string, faultId: string): string {
  return `${RULE_TAG_PREFIX}${runId}:${faultId}`;
}

export type Table = 'filter' | 'mangle';
export const TABLES: readonly Table[] = ['filter', 'mangle'];

export interface Rule {
  readonly table: Table;
  readonly chain: 'INPUT' | 'OUTPUT' | 'PREROUTING';
  /** Matches before the comment, e.g. ['-s', '10.0.0.2']. */
  readonly match: readonly string[];
  /** Jump and its options, e.g. ['-j', 'DROP']. */
  readonly jump: readonly string[];
}

/** Inserts the rule at the top of its chain, tagged, in the network namespace of `pid`. */
export async function insertRule(pid: number, tag: string, rule: Rule): Promise<void> {
  await mustInNetns(pid, 'iptables', insertRuleArgs(tag, rule));
}

/** `iptables` arguments that insert the rule at the top of its chain with the tag as its comment. */
export function insertRuleArgs(tag: string, rule: Rule): string[] {
  return [
    ...['-w', '-t', rule.table, '-I', rule.chain, ...rule.match],
    ...['-m', 'comment', '--comment', tag, ...rule.jump],
  ];
}

/** `iptables -S` lines of one table that carry a comment starting with `tagPrefix`. */
export async function taggedRules(pid: number, tagPrefix: string, table: Table): Promise<string[]> {
  const listing = await mustInNetns(pid, 'iptables', ['-w', '-t', table, '-S']);
  return listing.split('\n').filter((line) => {
    const comment = commentOf(line);
    return comment !== undefined && comment.startsWith(tagPrefix);
  });
}

/** Deletes every rule tagged exactly `tag` in every table; returns how many. */
export async function deleteTaggedRules(pid: number, tag: string): Promise<number> {
  let deleted = 0;
  for (const table of TABLES) {
    const lines = (await taggedRules(pid, tag, table)).filter((line) => commentOf(line) === tag);
    for (const line of lines) {
      const [append, ...rest] = tokens(line);
      if (append !== '-A') continue;
      const outcome = await inNetns(pid, 'iptables', ['-w', '-t', table, '-D', ...rest]);
      // Gone already (a concurrent heal) is fine; anything else is reported by the caller's residue check.
      if (outcome.ok) deleted += 1;
    }
  }
  return deleted;
}

function commentOf(line: string): string | undefined {
  const args = tokens(line);
  const at = args.indexOf('--comment');
  return at >= 0 ? args[at + 1] : undefined;
}

/** Splits an `iptables -S` line; the only quoting it uses is double quotes around comments. */
function tokens(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}
