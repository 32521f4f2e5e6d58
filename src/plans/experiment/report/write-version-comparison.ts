import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderChart } from '../../../report/render-chart.ts';
import { versionElectionChartSpec } from './charts.ts';
import { compareVersions, renderVersionComparison, type ComparedRun } from './version-comparison.ts';

/**
 * Writes comparison.md (with the chart), comparison.json and the election chart into `dir`;
 * returns the files written. What `run --etcd a,b,c` leaves next to the per-version directories.
 */
export async function writeVersionComparison(dir: string, runs: readonly ComparedRun[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const comparison = compareVersions(runs);
  const files: string[] = [];
  const jsonFile = join(dir, 'comparison.json');
  await writeFile(jsonFile, `${JSON.stringify(comparison, null, 2)}\n`);
  files.push(jsonFile);
  const chartSpec = versionElectionChartSpec(comparison, runs);
  const charts =
    chartSpec === undefined ? [] : await renderChart(chartSpec, join(dir, 'elections-by-version'));
  files.push(...charts);
  const chartLine =
    charts.length === 0 ? '' : '\n![time to a new leader by version](elections-by-version.svg)\n';
  const mdFile = join(dir, 'comparison.md');
  await writeFile(mdFile, `${renderVersionComparison(comparison)}${chartLine}`);
  files.push(mdFile);
  return files;
}
