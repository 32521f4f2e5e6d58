// `npm run bench -- checker [operations…] [--keys K,K…] [--clients C] [--indeterminate F] [--naive] [--limit S]`:
// generates linearizable histories (src/checks/linearizability/generate.ts; default 8 clients,
// 1 % indeterminate writes, seed 1) and checks them, one child process per history so that
// each peak RSS is its own. Prints generation and check time, search steps, memo entries,
// heap used after the check and peak RSS. `--naive` also runs the search without memo and
// without revision pruning (time-limited, default 10 s) to show what they buy.
// Default: 10000 100000 operations × 10 100 1000 keys.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkLinearizability, generateHistory } from '../src/checks/linearizability/index.ts';
import { writeBenchJson } from './lib/bench-output.ts';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

if (args[0] === '--one') {
  const [, opsText, keysText, clientsText, indText, mode, limitText] = args;
  const operations = Number(opsText);
  const t0 = performance.now();
  const history = generateHistory({
    operations,
    keys: Number(keysText),
    clients: Number(clientsText),
    indeterminate: Number(indText),
    seed: 1,
  });
  const generatedMs = performance.now() - t0;
  const naive = mode === 'naive';
  const result = checkLinearizability(history, {
    initial: { revision: 1 },
    timeLimitMs: Number(limitText) * 1000,
    ...(naive ? { memo: false, revisionPruning: false } : {}),
  });
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  const rssMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    JSON.stringify({
      operations,
      mode,
      status: result.status,
      generatedMs,
      checkMs: result.elapsedMs,
      steps: result.steps,
      memoEntries: result.memoEntries,
      heapMb,
      rssMb,
    }),
  );
  process.exit(0);
}

const positional: string[] = [];
for (let i = 0; i < args.length; i += 1) {
  const a = args[i] as string;
  if (a === '--naive') continue;
  if (a.startsWith('--')) i += 1;
  else positional.push(a);
}
const sizes = positional.length > 0 ? positional.map(Number) : [10_000, 100_000];
const keyCounts = (flag('--keys') ?? '10,100,1000').split(',').map(Number);
const clients = flag('--clients') ?? '8';
const indeterminate = flag('--indeterminate') ?? '0.01';
const limit = flag('--limit') ?? '60';
const modes = args.includes('--naive') ? ['pruned', 'naive'] : ['pruned'];
if (
  sizes.some((s) => !Number.isInteger(s) || s < 1) ||
  keyCounts.some((k) => !Number.isInteger(k) || k < 1)
) {
  console.error(
    'usage: npm run bench -- checker [operations…] [--keys K,K…] [--clients C] [--indeterminate F] [--naive] [--limit S]',
  );
  process.exit(2);
}
console.log(
  `checker: ${clients} clients, ${Number(indeterminate) * 100} % indeterminate writes, seed 1, time limit ${limit} s`,
);
console.log(
  'operations  keys  search   status   generate ms  check ms     steps   memo entries  heap MB  peak RSS MB',
);
const rows: Record<string, unknown>[] = [];
const startedAt = new Date().toISOString();
for (const operations of sizes) {
  for (const keys of keyCounts) {
    for (const mode of modes) {
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--one',
          String(operations),
          String(keys),
          clients,
          indeterminate,
          mode,
          mode === 'naive' ? (flag('--limit') ?? '10') : limit,
        ],
        { encoding: 'utf8' },
      );
      const line = run.stdout.trim().split('\n').pop() ?? '';
      // Ctrl-C reached the child too; this loop is synchronous, so no signal handler of ours runs.
      if (run.signal === 'SIGINT' || run.signal === 'SIGTERM')
        process.exit(run.signal === 'SIGINT' ? 130 : 143);
      if (run.status !== 0 || !line.startsWith('{')) {
        console.log(
          `${operations} ops, ${keys} keys, ${mode}: failed (${run.status ?? run.signal}) ${run.stderr.slice(-500)}`,
        );
        continue;
      }
      const r = JSON.parse(line) as Record<string, number | string>;
      rows.push({ keys, ...r });
      const n = (k: string, d = 0): string => Number(r[k]).toFixed(d);
      console.log(
        `${String(operations).padStart(10)}  ${String(keys).padStart(4)}  ${mode.padEnd(7)}  ${String(r.status).padEnd(7)}  ${n('generatedMs').padStart(11)}  ${n('checkMs').padStart(8)}  ${n('steps').padStart(8)}  ${n('memoEntries').padStart(13)}  ${n('heapMb').padStart(7)}  ${n('rssMb').padStart(11)}`,
      );
    }
  }
}
const written = writeBenchJson('checker', {
  bench: 'checker',
  startedAt,
  args: {
    sizes,
    keyCounts,
    clients: Number(clients),
    indeterminate: Number(indeterminate),
    limitS: Number(limit),
    modes,
  },
  rows,
});
console.log(`\nfigures written to ${written}`);
