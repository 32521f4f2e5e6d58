import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { BadInputError, LabError } from '../errors.ts';
import { ERROR_CLASSES } from './error-class.ts';
import { OPERATION_KINDS, type ClientRole, type OperationRecord } from './operation-record.ts';
import type { WatcherHistory } from '../checks/watch/types.ts';

/**
 * The operations of a run, in the order they completed. Ids come from `nextId()` when a
 * call is made, so sorting by id gives the order of invocation.
 */
export class History implements Iterable<OperationRecord> {
  private readonly list: OperationRecord[] = [];
  private readonly listeners = new Set<(record: OperationRecord) => void>();
  private idCounter = 0;
  /**
   * The run's watch streams (an experiment's `workload.watchers`), saved beside the operations
   * as watches.jsonl. Empty when the run had no watchers.
   */
  readonly watches: WatcherHistory[] = [];

  constructor(records: Iterable<OperationRecord> = []) {
    for (const record of records) this.append(record);
  }

  /** A fresh id for an operation about to be invoked. */
  nextId(): number {
    return this.idCounter++;
  }

  append(record: OperationRecord): void {
    this.list.push(record);
    if (record.id >= this.idCounter) this.idCounter = record.id + 1;
    for (const listener of this.listeners) listener(record);
  }

  /** Calls `listener` with every record appended from now on (e.g. to stream them to a file). */
  onAppend(listener: (record: OperationRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get records(): readonly OperationRecord[] {
    return this.list;
  }

  get length(): number {
    return this.list.length;
  }

  [Symbol.iterator](): Iterator<OperationRecord> {
    return this.list[Symbol.iterator]();
  }
}

const count = z.number().int().nonnegative();

const roleSchema: z.ZodType<ClientRole> = z.discriminatedUnion('of', [
  z.object({ of: z.literal('workload') }),
  z.object({ of: z.literal('load-step'), step: count }),
  z.object({ of: z.literal('quorum-cluster'), members: count }),
]);

const recordSchema: z.ZodType<OperationRecord> = z.object({
  id: count,
  clientId: z.string(),
  role: roleSchema.exactOptional(),
  kind: z.enum(OPERATION_KINDS),
  startMs: z.number(),
  endMs: z.number(),
  outcome: z.enum(['ok', 'fail', 'indeterminate']),
  sentMs: z.number().exactOptional(),
  operation: count.exactOptional(),
  attempt: count.exactOptional(),
  key: z.string().exactOptional(),
  value: z.string().exactOptional(),
  consistency: z.enum(['linearizable', 'serializable']).exactOptional(),
  expectedRevision: count.exactOptional(),
  ttlSeconds: count.exactOptional(),
  leaseId: z.string().exactOptional(),
  revision: count.exactOptional(),
  memberId: z.string().exactOptional(),
  raftTerm: count.exactOptional(),
  found: z.boolean().exactOptional(),
  modRevision: count.exactOptional(),
  createRevision: count.exactOptional(),
  version: count.exactOptional(),
  foundValue: z.string().exactOptional(),
  succeeded: z.boolean().exactOptional(),
  deleted: count.exactOptional(),
  grantedTtlSeconds: z.number().int().exactOptional(),
  errorClass: z.enum(ERROR_CLASSES).exactOptional(),
  errorMessage: z.string().exactOptional(),
});

/** Writes records as JSON lines as they come, e.g. `history.onAppend((r) => writer.write(r))`. */
export class HistoryWriter {
  private failure: Error | undefined;

  private constructor(
    readonly path: string,
    private readonly stream: WriteStream,
  ) {
    stream.on('error', (error) => {
      this.failure = error;
    });
  }

  /** Opens `path` for writing; `append: true` adds to an existing file instead of replacing it. */
  static async open(path: string, options: { readonly append?: boolean } = {}): Promise<HistoryWriter> {
    const stream = createWriteStream(path, { flags: options.append === true ? 'a' : 'w' });
    try {
      await once(stream, 'open');
    } catch (error) {
      throw new LabError(`cannot write history to ${path}`, { cause: error });
    }
    return new HistoryWriter(path, stream);
  }

  /** Queues one record; resolves once the stream can take more (backpressure). */
  async write(record: OperationRecord): Promise<void> {
    if (this.failure) throw new LabError(`writing history to ${this.path} failed`, { cause: this.failure });
    if (!this.stream.write(`${JSON.stringify(record)}\n`)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (!this.stream.writableEnded) {
      await new Promise<void>((resolve) => this.stream.end(resolve));
    }
    if (this.failure) throw new LabError(`writing history to ${this.path} failed`, { cause: this.failure });
  }
}

/** Saves records as JSON lines, one record per line, streaming (constant memory for async sources). */
export async function saveHistory(
  path: string,
  records: Iterable<OperationRecord> | AsyncIterable<OperationRecord>,
): Promise<void> {
  const writer = await HistoryWriter.open(path);
  try {
    for await (const record of records) await writer.write(record);
  } finally {
    await writer.close();
  }
}

/** Reads a JSON-lines history record by record, validating each; blank lines are skipped. */
export async function* readHistory(path: string): AsyncGenerator<OperationRecord> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber += 1;
      if (line.trim() === '') continue;
      yield parseLine(path, lineNumber, line);
    }
  } catch (error) {
    if (error instanceof LabError) throw error;
    throw new BadInputError(`cannot read history ${path}`, { cause: error });
  } finally {
    lines.close();
  }
}

function parseLine(path: string, lineNumber: number, line: string): OperationRecord {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    throw new BadInputError(`history ${path}, line ${lineNumber}: not JSON`, { cause: error });
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) {
    throw new BadInputError(
      `history ${path}, line ${lineNumber}: not an operation record: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** Loads a whole JSON-lines history. */
export async function loadHistory(path: string): Promise<History> {
  const history = new History();
  for await (const record of readHistory(path)) history.append(record);
  return history;
}
