import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BadInputError } from '../../errors.ts';
import {
  availabilityTable,
  evenSizeComparison,
  formatProbability,
  formatQuorumTable,
  memberDownProbability,
} from '../../plans/quorum/model.ts';
import { checkWritableDir, durationHours, integerIn, probability } from '../options.ts';

interface QuorumOptions {
  readonly members?: number;
  readonly p?: number[];
  /** Hours. */
  readonly mttf?: number;
  /** Hours. */
  readonly mttr?: number;
  readonly json: boolean;
  readonly out?: string;
}

const DEFAULT_PS = [0.001, 0.01, 0.05];

/** `etcd-lab quorum`: the quorum model as a table (pure arithmetic, no cluster). */
export function registerQuorum(program: Command): void {
  program
    .command('quorum')
    .description('majority, tolerated failures and unavailability for 1-7 members (the model, no cluster)')
    .option('-m, --members <n>', 'only this cluster size', integerIn(1, 7))
    .option('--p <probability>', 'probability a member is down (repeatable)', collectProbability)
    .option('--mttf <duration>', 'member mean time to failure, e.g. 10y, 90d (with --mttr)', durationHours())
    .option(
      '--mttr <duration>',
      'member mean time to repair, e.g. 4h, 30m (with --mttf)',
      durationHours({ allowZero: true }),
    )
    .option('--json', 'print JSON', false)
    .option('--out <dir>', 'also write quorum.json and a chart of unavailability vs p for 1-7 members here')
    .action(async (options: QuorumOptions) => {
      if (options.mttf !== undefined && options.mttr === undefined) {
        throw new BadInputError('--mttf needs --mttr: a member is down mttr / (mttf + mttr) of the time');
      }
      if (options.mttr !== undefined && options.mttf === undefined) {
        throw new BadInputError('--mttr needs --mttf: a member is down mttr / (mttf + mttr) of the time');
      }
      if (options.out !== undefined) await checkWritableDir('--out', options.out);
      const ps = [...(options.p ?? [])];
      if (options.mttf !== undefined && options.mttr !== undefined) {
        ps.push(memberDownProbability({ mttfHours: options.mttf, mttrHours: options.mttr }));
      }
      if (ps.length === 0) ps.push(...DEFAULT_PS);
      const ns = options.members === undefined ? [1, 2, 3, 4, 5, 6, 7] : [options.members];
      const rows = availabilityTable(ns, ps);
      if (options.out !== undefined) await writeModelFiles(options.out, rows, ps);
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ rows, evenVsOdd: ps.map((p) => ({ p, pairs: evenSizeComparison(p) })) }, null, 2)}\n`,
        );
        return;
      }
      const lines = [formatQuorumTable(rows), ''];
      for (const p of ps) {
        const worse = evenSizeComparison(p).filter((pair) => pair.evenIsWorse);
        lines.push(
          `p=${formatProbability(p)}: ${worse.map((pair) => `${pair.even} members are less available than ${pair.odd} (${formatProbability(pair.evenUnavailability)} vs ${formatProbability(pair.oddUnavailability)})`).join('; ') || 'even sizes are no worse at this p'}`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** quorum.json (the table, and the chart's curve for 1-7 members) and unavailability.svg/.png. */
async function writeModelFiles(
  dir: string,
  rows: ReturnType<typeof availabilityTable>,
  ps: number[],
): Promise<void> {
  // The chart renderer is heavy to load: only when a chart is asked for.
  const { chartProbabilities, unavailabilityChartSpec } = await import('../../plans/quorum/report.ts');
  const { renderChart } = await import('../../report/render-chart.ts');
  await mkdir(dir, { recursive: true });
  const sizes = [1, 2, 3, 4, 5, 6, 7];
  const chartPs = chartProbabilities();
  const curve = availabilityTable(sizes, chartPs);
  await writeFile(
    join(dir, 'quorum.json'),
    `${JSON.stringify({ rows, evenVsOdd: ps.map((p) => ({ p, pairs: evenSizeComparison(p) })), curve }, null, 2)}\n`,
  );
  const charts = await renderChart(unavailabilityChartSpec(sizes, chartPs), join(dir, 'unavailability'));
  process.stderr.write(`wrote ${join(dir, 'quorum.json')}, ${charts.join(', ')}\n`);
}

function collectProbability(value: string, previous: number[] | undefined): number[] {
  return [...(previous ?? []), probability(value)];
}
