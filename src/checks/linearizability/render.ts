import type { LinearizabilityResult } from './check.ts';
import type { Violation } from './types.ts';
import type { HistoryOperation, KvRequest, Request } from './types.ts';

const kvText = (q: KvRequest): string =>
  q.type === 'put' ? `put ${q.key}=${JSON.stringify(q.value)}` : `${q.type} ${q.key}`;

function requestText(q: Request): string {
  if (q.type !== 'txn') return kvText(q);
  const cmp = q.compare.map((c) => `${c.target}(${c.key}) ${c.op} ${JSON.stringify(c.value)}`).join(' && ');
  return `txn if ${cmp || 'true'} then [${q.success.map(kvText).join('; ')}] else [${q.failure.map(kvText).join('; ')}]`;
}

/** One line per operation: id, client, interval, request and what came back. */
export function operationText(op: HistoryOperation): string {
  const r = op.response;
  let out =
    op.status === 'indeterminate'
      ? `indeterminate${op.appliedAt === undefined ? '' : `, applied at ${op.appliedAt} (watch)`}`
      : '';
  if (r) {
    const parts: string[] = [];
    if (r.succeeded !== undefined) parts.push(r.succeeded ? 'succeeded' : 'compare failed');
    if (r.kv !== undefined)
      parts.push(r.kv === null ? 'absent' : `${JSON.stringify(r.kv.value)} mod ${r.kv.modRevision ?? '?'}`);
    for (const x of r.results ?? []) {
      if (x.kv !== undefined)
        parts.push(x.kv === null ? 'absent' : `${JSON.stringify(x.kv.value)} mod ${x.kv.modRevision ?? '?'}`);
    }
    if (r.deleted !== undefined) parts.push(`deleted ${r.deleted}`);
    if (r.revision !== undefined) parts.push(`rev ${r.revision}`);
    out = parts.join(', ');
  }
  const end = op.status === 'ok' ? String(op.return) : '∞';
  return `#${op.id} ${op.client} [${op.call}..${end}] ${requestText(op.request)} → ${out}`;
}

/** A per-client timeline of the window: one row per client, one bar per operation. */
export function timeline(ops: readonly HistoryOperation[], width = 60): string[] {
  if (ops.length === 0) return [];
  const from = Math.min(...ops.map((o) => o.call));
  const finite = ops.map((o) => (o.status === 'ok' ? o.return : o.call));
  const to = Math.max(...finite, from + 1);
  const col = (t: number): number =>
    Math.min(width - 1, Math.round(((t - from) / (to - from)) * (width - 1)));
  const clients = [...new Set(ops.map((o) => o.client))].sort();
  const pad = Math.max(...clients.map((c) => c.length));
  return clients.map((client) => {
    const row = Array<string>(width).fill(' ');
    for (const op of ops.filter((o) => o.client === client)) {
      const a = col(op.call);
      const b = op.status === 'ok' ? col(op.return) : width - 1;
      for (let x = a; x <= b; x += 1) row[x] = op.status === 'ok' ? '─' : '┄';
      const label = `#${op.id}`;
      for (let k = 0; k < label.length && a + k < width; k += 1) row[a + k] = label[k] as string;
    }
    return `${client.padEnd(pad)} |${row.join('')}|`;
  });
}

export function violationText(v: Violation): string {
  const lines = [
    `not linearizable: ${operationText(v.stuck)}`,
    `  returned before it could be placed after the longest linearizable prefix found (${v.prefixLength} operations; revision ${v.revision ?? '?'}).`,
    `  store then: ${v.state.join('; ') || '(nothing relevant)'}`,
    '  last operations of that prefix:',
    ...v.prefixTail.map((op) => `    ${operationText(op)}`),
    '  could have come next, refused:',
    ...v.candidates.map((c) => `    ${operationText(c.op)}\n      ${c.refused}`),
    ...(v.blockers.length > 0
      ? ['  blocking revisions returned by:', ...v.blockers.map((op) => `    ${operationText(op)}`)]
      : []),
    '  window:',
    ...timeline(v.window).map((l) => `    ${l}`),
  ];
  return lines.join('\n');
}

export function resultText(r: LinearizabilityResult): string {
  const stats = `${r.operations} operations, ${r.steps} steps, ${r.memoEntries} memo entries, ${r.elapsedMs.toFixed(0)} ms`;
  if (r.status === 'ok') return `linearizable (${stats})`;
  if (r.status === 'unknown') return `unknown: ${r.reason ?? '?'} (${stats})`;
  return `${r.violation ? violationText(r.violation) : 'not linearizable'}\n(${stats})`;
}
