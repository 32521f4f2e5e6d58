import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import junitModule, { type Builder } from 'junit-report-builder';
import { effectiveAt, type ExperimentResult } from '../experiments/run-experiment.ts';
import { saveHistory, type History } from '../history/history.ts';
import type { OperationsSummary } from '../measure/latency-stats.ts';
import { writeCharts } from './charts.ts';

/**
 * Writes a run's results directory: result.json (versioned), history.jsonl, report.md,
 * junit.xml (one test case per hypothesis check, for CI systems) and the charts.
 */
export async function writeResults(
  dir: string,
  result: ExperimentResult,
  history: History,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = {
    result: join(dir, 'result.json'),
    history: join(dir, 'history.jsonl'),
    report: join(dir, 'report.md'),
    junit: join(dir, 'junit.xml'),
  };
  await writeFile(files.result, `${JSON.stringify(result, null, 2)}\n`);
  await saveHistory(files.history, [...history]);
  const charts = await writeCharts(dir, result);
  const svgs = charts.filter((file) => file.endsWith('.svg')).map((file) => basename(file));
  await writeFile(files.report, renderReport(result, svgs));
  writeJunit(files.junit, result);
  return [...Object.values(files), ...charts];
}

// A CommonJS module whose default export is the builder; TypeScript's NodeNext view of it
// (a namespace with a `default`) does not match what Node hands an ES module at run time.
const junit = junitModule as unknown as Builder;

function writeJunit(path: string, result: ExperimentResult): void {
  const builder = junit.newBuilder();
  const suite = builder.testSuite().name(`etcd-lab ${result.experiment.name}`).timestamp(result.startedAt);
  if (result.status !== 'completed') {
    suite
      .testCase()
      .className(result.experiment.name)
      .name('experiment ran to completion')
      .failure(result.error ?? result.status);
  }
  for (const check of result.checks) {
    const test = suite.testCase().className(result.experiment.name).name(check.name);
    const detail = `expected ${check.expected}, observed ${check.observed}`;
    if (check.verdict === 'deviated') test.failure(detail);
    else if (check.verdict === 'unknown') test.skipped();
    else test.standardOutput(detail);
  }
  builder.writeTo(path);
}

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(1));

function latencyRow(name: string, s: OperationsSummary): string {
  const l = s.latency;
  return `| ${name} | ${s.outcomes.ok} | ${s.outcomes.fail} | ${s.outcomes.indeterminate} | ${ms(s.throughput)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} |`;
}

export function renderReport(result: ExperimentResult, charts: readonly string[] = []): string {
  const e = result.experiment;
  const env = result.environment;
  const verdict =
    result.status !== 'completed'
      ? `**${result.status.toUpperCase()}**${result.error ? `: ${result.error.split('\n')[0]}` : ''}`
      : result.deviated
        ? '**DEVIATED** — the hypothesis did not hold'
        : '**HELD** — the hypothesis held';
  const lines = [
    `# ${e.title}`,
    '',
    e.question ? `> ${e.question}\n` : '',
    `Verdict: ${verdict}`,
    '',
    `Run ${result.startedAt}, ${(result.durationMs / 1000).toFixed(1)} s; ${String(env.members)} members, etcd ${String(env.etcdVersion)} (${String(env.image)}${env.image === env.requestedImage ? '' : `, requested ${String(env.requestedImage)}`}); heartbeat ${String(env.heartbeatMs)} ms, election timeout ${String(env.electionTimeoutMs)} ms, pre-vote ${String(env.preVote)}.`,
    '',
    '## Hypothesis',
    '',
    '| check | expected | observed | verdict |',
    '| --- | --- | --- | --- |',
    ...result.checks.map((c) => `| ${c.name} | ${c.expected} | ${c.observed} | ${c.verdict} |`),
    '',
    '## Faults',
    '',
    '| fault | target | mechanism | injected at (ms) | healed at (ms) | new leader after (ms) | longest write stall (ms) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...result.steps.map((s) => {
      const faultAt = effectiveAt(s.fault, s.step);
      const elected = s.leaderChange?.majorityAgreesAtMs;
      return `| ${s.step.fault} | ${s.fault.targets.join(', ')} | ${s.fault.mechanism} | ${ms(s.fault.injectedAtMs)} | ${ms(s.fault.healedAtMs)} | ${elected === undefined ? '–' : ms(elected - faultAt)} | ${ms(s.writeStall?.durationMs)} |`;
    }),
    '',
  ];
  if (result.writes) {
    const w = result.writes;
    lines.push(
      '## Writes',
      '',
      '| window | ok | failed | indeterminate | ok/s | p50 ms | p99 ms | max ms |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      latencyRow('before the fault', w.baseline),
      latencyRow('during the fault', w.duringFault),
      latencyRow('after healing', w.afterHeal),
      '',
      `During the fault vs before: p50 ×${ms(w.duringVsBaseline.p50)}, p99 ×${ms(w.duringVsBaseline.p99)}; after healing vs before: p50 ×${ms(w.afterVsBaseline.p50)}, p99 ×${ms(w.afterVsBaseline.p99)}.`,
      '',
    );
  }
  if (charts.length > 0) lines.push('## Charts', '', ...charts.map((c) => `![${c}](${c})`), '');
  lines.push(
    `Recovery after healing (stable leader, members caught up): ${ms(result.recoveryMs)} ms.`,
    '',
    `Acknowledged writes: ${result.acknowledgedWrites?.message ?? 'not checked'}.`,
    '',
  );
  return lines.filter((line, i, all) => !(line === '' && all[i - 1] === '')).join('\n');
}
