// `npm run bench -- <name> [args]` runs bench/<name>.ts; without a name, lists them.
// `npm run bench -- all` runs every benchmark in turn, each with its default arguments.
// Benchmarks print figures; they are not timed tests and never fail on a number.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.replace(/\.ts$/, ''));

if (name === 'all') {
  // One process per benchmark: each starts from a clean process (no cached host probe, no open clients).
  for (const bench of available) {
    console.log(`\n=== ${bench} ===`);
    const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), bench], {
      stdio: 'inherit',
    });
    if (run.status !== 0) console.log(`=== ${bench} ended with status ${run.status ?? run.signal} ===`);
  }
  process.exit(0);
}
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}|all> [args]`);
  process.exit(name ? 2 : 0);
}
process.argv = [process.argv[0] ?? 'node', name, ...args];
await import(`./${name}.ts`);
