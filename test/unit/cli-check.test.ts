import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCommand } from '../../src/cli/commands/check.ts';
import { BadInputError } from '../../src/errors.ts';

/**
 * `etcd-lab check` on histories written to a temp dir: a linearizable one (exit 0), one with a
 * stale read (1, the violation printed), one the time limit cuts short (3), and bad input (2, one
 * line naming the argument). No cluster: the command only reads files.
 */
let dir = '';

const base = { clientId: 'c0', role: { of: 'workload' }, outcome: 'ok' } as const;
const put = (id: number, key: string, value: string, at: number, revision: number) => ({
  ...base,
  id,
  kind: 'put',
  startMs: at,
  endMs: at + 1,
  key,
  value,
  revision,
  modRevision: revision,
});
const get = (id: number, key: string, value: string, at: number, revision: number, mod: number) => ({
  ...base,
  id,
  clientId: 'c1',
  kind: 'get',
  startMs: at,
  endMs: at + 1,
  key,
  consistency: 'linearizable',
  found: true,
  value,
  modRevision: mod,
  createRevision: 2,
  version: mod - 1,
  revision,
});
const jsonl = (records: readonly object[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

const VALID = [put(0, 'e/1', 'a', 0, 2), put(1, 'e/1', 'b', 2, 3), get(2, 'e/1', 'b', 4, 3, 3)];
// The read starts after b was acknowledged at revision 3, yet returns a at 2: stale.
const STALE = [put(0, 'e/1', 'a', 0, 2), put(1, 'e/1', 'b', 2, 3), get(2, 'e/1', 'a', 4, 3, 2)];

async function run(target: string, options = {}) {
  let out = '';
  const code = await checkCommand(target, options, (text) => (out += text));
  return { code, out };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcd-lab-check-'));
  await writeFile(join(dir, 'valid.jsonl'), jsonl(VALID));
  await writeFile(join(dir, 'stale.jsonl'), jsonl(STALE));
  await writeFile(join(dir, 'not-json.jsonl'), '{"id": 0,\n');
  await writeFile(join(dir, 'not-records.jsonl'), '{"hello": "world"}\n');
  await writeFile(join(dir, 'empty.jsonl'), '');
  await writeFile(
    join(dir, 'quorum.jsonl'),
    jsonl([{ ...VALID[0], role: { of: 'quorum-cluster', members: 3 } }]),
  );
  // Thousands of puts: more search steps than the checker runs before it first looks at the clock.
  await writeFile(
    join(dir, 'long.jsonl'),
    jsonl(Array.from({ length: 6_000 }, (_, i) => put(i, `e/${i % 40}`, `v${i}`, 2 * i, i + 2))),
  );
  // A results directory: result.json says the run started from revision 1.
  await mkdir(join(dir, 'results'));
  await writeFile(join(dir, 'results', 'history.jsonl'), jsonl(STALE));
  await writeFile(
    join(dir, 'results', 'result.json'),
    JSON.stringify({
      linearizability: { initial: { revision: 1, keys: 0, prefix: 'e/' }, timeLimitMs: 5_000 },
    }),
  );
  await mkdir(join(dir, 'no-history'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('etcd-lab check', () => {
  it('exits 0 on a linearizable history and says what it checked', async () => {
    const { code, out } = await run(join(dir, 'valid.jsonl'));
    expect(code).toBe(0);
    expect(out).toMatch(/^linearizable \(3 operations, \d+ steps, \d+ ms\)/);
    expect(out).toMatch(
      /checked 3 operations \(3 workload records, 0 load-step writes\), from absent keys, revision inferred/,
    );
  });

  it('exits 1 on a stale read and prints the violation', async () => {
    const { code, out } = await run(join(dir, 'stale.jsonl'));
    expect(code).toBe(1);
    expect(out).toMatch(/^not linearizable: #2 c1 .*get e\/1/);
    expect(out).toContain('window:');
    expect(out).toMatch(/NOT linearizable: operation #2 cannot be ordered/);
  });

  it('takes a results directory, starting from the store its result.json recorded', async () => {
    const { code, out } = await run(join(dir, 'results'));
    expect(code).toBe(1);
    expect(out).toContain('from revision 1, absent keys');
    const json = await run(join(dir, 'results'), { json: true });
    expect(JSON.parse(json.out)).toMatchObject({ status: 'failed', timeLimitMs: 5_000 });
  });

  it('exits 3 when the time limit runs out: unknown, never linearizable', async () => {
    const { code, out } = await run(join(dir, 'long.jsonl'), { timeLimitMs: 0 });
    expect(code).toBe(3);
    expect(out).toMatch(/^unknown: /);
  });

  it('refuses what is not one history, naming the argument', async () => {
    const refusals: [string, RegExp][] = [
      ['missing.jsonl', /^check .*missing\.jsonl: no such file or directory$/],
      ['no-history', /^check .*no-history: no history\.jsonl in it/],
      ['not-json.jsonl', /^check .*not-json\.jsonl: not a history: .*line 1: not JSON/],
      ['not-records.jsonl', /^check .*not-records\.jsonl: not a history: .*line 1: not an operation record/],
      ['empty.jsonl', /^check .*empty\.jsonl: the history holds no operations$/],
      ['quorum.jsonl', /^check .*quorum\.jsonl: it holds the quorum matrix's operations/],
    ];
    for (const [name, says] of refusals) {
      const refused = await run(join(dir, name)).catch((error: unknown) => error);
      expect(refused, name).toBeInstanceOf(BadInputError);
      expect((refused as Error).message, name).toMatch(says);
    }
  });

  it('the real CLI: exit codes, and bad input as one etcd-lab: line', async () => {
    const cli = (...args: string[]) =>
      execa('node', ['bin/etcd-lab.js', 'check', ...args], { reject: false });
    const [valid, stale, missing, badLimit] = await Promise.all([
      cli(join(dir, 'valid.jsonl')),
      cli(join(dir, 'stale.jsonl')),
      cli(join(dir, 'missing.jsonl')),
      cli(join(dir, 'valid.jsonl'), '--time-limit', '0'),
    ]);
    expect(valid.exitCode).toBe(0);
    expect(stale.exitCode).toBe(1);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^etcd-lab: check .*missing\.jsonl: no such file or directory$/);
    expect(badLimit.exitCode).toBe(2);
    expect(badLimit.stderr).toMatch(/^etcd-lab: --time-limit: expected seconds/);
    expect(badLimit.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
  }, 30_000);
});
