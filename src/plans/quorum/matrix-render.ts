/** The quorum matrix rendered as markdown: a cell table and a compact n × k grid per mechanism. */
import type { Mechanism, MatrixCell } from './matrix.ts';

const mark = (value: boolean): string => (value ? 'yes' : 'no');

/** The matrix as a markdown table, one row per cell, predicted / observed side by side. */
export function renderMatrixTable(cells: readonly MatrixCell[]): string {
  const lines = [
    '| mechanism | n | down | taken down | quorum (model) | writes | linearizable read | serializable read | leader | isolated leader stepped down | verdict |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const pair = (predicted: boolean | undefined, observed: boolean | undefined): string =>
    predicted === undefined || observed === undefined
      ? '–'
      : predicted === observed
        ? mark(observed)
        : `**${mark(observed)}** (model: ${mark(predicted)})`;
  for (const c of cells) {
    const p = c.prediction;
    const o = c.observation;
    const stepDown =
      o?.stepDown === null || o?.stepDown === undefined
        ? '–'
        : o.stepDown.steppedDown
          ? `yes, ${Math.round(o.stepDown.afterMs ?? 0)} ms`
          : '**no**';
    lines.push(
      `| ${c.mechanism} | ${c.members} | ${c.down} | ${c.targets.join(', ') || '–'} | ${p === null ? 'n/a' : mark(p.quorum)} | ` +
        `${pair(p?.writes, o?.write.ok)} | ${pair(p?.linearizableReads, o?.linearizableRead.ok)} | ` +
        `${pair(p?.serializableReads, o?.serializableRead.ok)} | ${pair(p?.leader, o?.leader.present)} | ${stepDown} | ` +
        `${c.verdict === 'mismatch' ? `**MISMATCH**: ${c.mismatches.join('; ')}` : c.verdict} |`,
    );
  }
  return lines.join('\n');
}

/**
 * A compact n × k grid per mechanism: W where writes were acknowledged, · where they were refused,
 * ! after a cell that disagreed with the model, n/a where the cell cannot be produced.
 */
export function renderMatrixGrid(cells: readonly MatrixCell[], mechanism: Mechanism): string {
  const own = cells.filter((c) => c.mechanism === mechanism);
  const sizes = [...new Set(own.map((c) => c.members))].sort((a, b) => a - b);
  const maxK = Math.max(0, ...sizes);
  const header = ['n \\ k down', ...Array.from({ length: maxK + 1 }, (_, k) => String(k))];
  const rows = sizes.map((n) => [
    String(n),
    ...Array.from({ length: maxK + 1 }, (_, k) => {
      const c = own.find((x) => x.members === n && x.down === k);
      if (c === undefined) return '';
      if (c.verdict === 'not-applicable') return 'n/a';
      if (c.observation === null) return '?';
      return `${c.observation.write.ok ? 'W' : '·'}${c.verdict === 'mismatch' ? '!' : ''}`;
    }),
  ]);
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => ' --- ').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
