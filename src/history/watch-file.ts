import { readFile, writeFile } from 'node:fs/promises';
import { BadInputError } from '../errors.ts';
import type { WatcherHistory } from '../checks/watch/types.ts';

/**
 * watches.jsonl: one watcher per line — its id, its request and every response it received on
 * the run's clock (the watch checker's input), plus what the recorder saw of its connection
 * (client, endpoints, the member that answered each create, disconnects). Next to history.jsonl.
 */
export async function saveWatches(path: string, watchers: readonly WatcherHistory[]): Promise<void> {
  await writeFile(
    path,
    watchers.map((w) => JSON.stringify(w)).join('\n') + (watchers.length > 0 ? '\n' : ''),
  );
}

const RESPONSE_TYPES = new Set(['created', 'events', 'progress', 'compacted', 'canceled', 'reconnect']);

/** Reads watches.jsonl; a line that is not a watcher is bad input naming the file and line. */
export async function readWatches(path: string): Promise<WatcherHistory[]> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new BadInputError(`cannot read watches ${path} (${error.code ?? error.message})`);
  });
  const watchers: WatcherHistory[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new BadInputError(`watches ${path}, line ${i + 1}: not JSON`);
    }
    const w = json as Partial<WatcherHistory> | null;
    const ok =
      w !== null &&
      typeof w === 'object' &&
      typeof w.id === 'string' &&
      typeof w.request?.range?.key === 'string' &&
      (typeof w.request.startRevision === 'number' || w.request.startRevision === 'now') &&
      Array.isArray(w.responses) &&
      (w.responses as unknown[]).every((r) => {
        const response = r as { type?: unknown; atMs?: unknown } | null;
        return (
          typeof response?.type === 'string' &&
          RESPONSE_TYPES.has(response.type) &&
          typeof response.atMs === 'number'
        );
      });
    if (!ok)
      throw new BadInputError(`watches ${path}, line ${i + 1}: not a watcher (id, request, responses)`);
    watchers.push(w as WatcherHistory);
  });
  return watchers;
}
