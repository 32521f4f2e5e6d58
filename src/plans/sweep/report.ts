import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { renderChart } from '../../report/render-chart.ts';
import { writeJunitAndReport, writeResultJson } from '../../run/results-envelope.ts';
import { cellRow, toCsv } from './cell-table.ts';
import { sweepChartSpecs } from './report-charts.ts';
import { renderSweepReport } from './report-markdown.ts';
import type { SweepResult } from './sweep-result.ts';

// A sweep's outputs: result.json first, then sweep.csv and the charts, then junit.xml and report.md.
// Each part in its own file, re-exported here for importers: the result's type (sweep-result.ts),
// where spurious elections start (spurious-elections.ts), the per-cell table and CSV
// (cell-table.ts), the charts (report-charts.ts) and report.md (report-markdown.ts).
export type { SweepPayload, SweepResult } from './sweep-result.ts';
export { spuriousElectionBoundaries, type SpuriousElectionBoundary } from './spurious-elections.ts';
export { cellRow, csvField, toCsv } from './cell-table.ts';
export { sweepChartSpecs } from './report-charts.ts';
export { renderSweepReport } from './report-markdown.ts';

/**
 * Writes result.json first (atomically: a chart that fails or a second Ctrl-C later still leaves
 * it), then sweep.csv and the charts, then junit.xml and report.md; returns the files written, in
 * the order result.json, junit.xml, report.md, sweep.csv, charts. (Each cell's own record is in
 * cells/, written as it finished.)
 */
export async function writeSweepOutputs(dir: string, result: SweepResult): Promise<string[]> {
  const resultFile = await writeResultJson(dir, result);
  const csv = join(dir, 'sweep.csv');
  await writeFile(csv, toCsv(result.cells.map(cellRow)));
  const charts: string[] = [];
  for (const [name, spec] of Object.entries(sweepChartSpecs(result))) {
    if (spec !== undefined) charts.push(...(await renderChart(spec, join(dir, name))));
  }
  const svgs = charts.filter((file) => file.endsWith('.svg')).map((file) => basename(file));
  const reports = await writeJunitAndReport(dir, result, renderSweepReport(result, svgs));
  return [resultFile, ...reports, csv, ...charts];
}
