// `npm run bench -- <name> [args]` runs bench/<name>.ts; without a name, lists them.
// Benchmarks print figures; they are not timed tests and never fail on a number.
import { readdirSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.replace(/\.ts$/, ''));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [args]`);
  process.exit(name ? 2 : 0);
}
process.argv = [process.argv[0] ?? 'node', name, ...args];
await import(`./${name}.ts`);
