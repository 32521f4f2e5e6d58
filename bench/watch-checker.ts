// `npm run bench -- watch-checker [revisions] [--watchers W] [--seed S]`: generates a key space
// with that many writes (default 100000; about 1.3 changes per write, txns change several keys)
// and W watchers (default 8) that each see what etcd would send them
// (src/checks/watch/generate.ts), then times the watch checker on it. Prints generation and
// check time, events delivered and heap used.
import { checkWatches, generateWatchHistory } from '../src/checks/watch/index.ts';
import { writeBenchJson } from './lib/bench-output.ts';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const positional = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const revisions = Number(positional[0] ?? 100_000);
const watchers = Number(flag('--watchers') ?? 8);
const seed = Number(flag('--seed') ?? 1);
if (![revisions, watchers, seed].every((n) => Number.isInteger(n) && n >= 1)) {
  console.error('usage: npm run bench -- watch-checker [revisions] [--watchers W] [--seed S]');
  process.exit(2);
}
const t0 = performance.now();
const history = generateWatchHistory({ revisions, watchers, seed, reconnects: 3 });
const generatedMs = performance.now() - t0;
const t1 = performance.now();
const result = checkWatches(history.truth, history.watchers);
const checkMs = performance.now() - t1;
const figures = {
  revisions,
  truthEvents: result.counts.truthEvents,
  watchers,
  eventsDelivered: result.counts.eventsDelivered,
  status: result.status,
  generatedMs: Math.round(generatedMs),
  checkMs: Math.round(checkMs),
  heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
};
console.log(JSON.stringify(figures));
const written = writeBenchJson('watch-checker', {
  bench: 'watch-checker',
  startedAt: new Date().toISOString(),
  args: { revisions, watchers, seed },
  ...figures,
});
console.log(`figures written to ${written}`);
