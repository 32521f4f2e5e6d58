import { verdictMark, type Verdict } from '../../../checks/check.ts';
import { tookLeader } from '../hypothesis.ts';
import type { ExperimentResult } from '../run-experiment.ts';
import {
  describeCounts,
  describeRounds,
  describeSpread,
  spreadOf,
  summarizeRepetitions,
  type RepetitionSummary,
  type Spread,
} from './repetitions.ts';

/**
 * One experiment side by side on several etcd versions: a column per version (every run of that
 * version together, so a column can hold one run or many), a row per hypothesis check and per
 * figure that differs between versions for a reason worth knowing — election time and rounds
 * (3.5 turns pre-vote on by default), write stall, tail latency, success under faults. What
 * `etcd-lab run --etcd a,b,c` writes as comparison.md and `etcd-lab compare DIR…` prints.
 */
export interface VersionColumn {
  /** The etcd version the members reported, with the image when one version ran from two images. */
  readonly label: string;
  readonly etcdVersion: string;
  readonly image: string;
  /** How the image was obtained (registry, debian-package, host, …). */
  readonly imageSource: string;
  readonly preVote: string;
  /** The results directories of these runs, when they were read from disk. */
  readonly directories: readonly string[];
  readonly summary: RepetitionSummary;
  /** A one-run column: what its run observed per check, in the check's own words. */
  readonly observed: Readonly<Record<string, string>> | null;
  /** One value per election or per run, over every run of the column. */
  readonly writeStalls: Spread | null;
  readonly baselineP99: Spread | null;
  readonly duringFaultP99: Spread | null;
  /** Share of workload operations that succeeded inside fault windows, per run. */
  readonly okDuringFaults: Spread | null;
  /** When the column's first and last runs started (ISO), and the host's 1-minute load then. */
  readonly started: { readonly first: string; readonly last: string };
  readonly loadAtStart: Spread | null;
  /** Linearizability and acknowledged-writes outcomes by status, per run (empty: not checked). */
  readonly linearizable: Readonly<Record<string, number>>;
  readonly acknowledgedWrites: Readonly<Record<string, number>>;
}

export interface VersionComparison {
  readonly experiment: string;
  readonly title: string;
  readonly columns: readonly VersionColumn[];
}

export interface ComparedRun {
  readonly result: ExperimentResult;
  readonly directory?: string;
}

/** Thrown (as a message) when runs cannot stand side by side: nothing, or different experiments. */
export function comparisonProblem(runs: readonly ComparedRun[]): string | undefined {
  if (runs.length === 0) return 'no experiment results to compare';
  const names = [...new Set(runs.map((r) => r.result.name))];
  if (names.length > 1) {
    const where = names.map((name) => {
      const run = runs.find((r) => r.result.name === name);
      return `${name}${run?.directory === undefined ? '' : ` (${run.directory})`}`;
    });
    return `results of different experiments cannot stand side by side: ${where.join(', ')}`;
  }
  return undefined;
}

const text = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : 'unknown';

/** Orders "3.4.23" before "3.5.16" before "3.5.30" (numerically), anything else after, by name. */
export function compareVersionLabels(a: string, b: string): number {
  const parts = (v: string) => /^(\d+)\.(\d+)\.(\d+)/.exec(v)?.slice(1).map(Number);
  const pa = parts(a);
  const pb = parts(b);
  if (pa && pb) {
    for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
    return a.localeCompare(b);
  }
  if (pa) return -1;
  if (pb) return 1;
  return a.localeCompare(b);
}

/** Groups runs by the etcd that really ran (version and image), one column each, oldest version first. */
export function compareVersions(runs: readonly ComparedRun[]): VersionComparison {
  const problem = comparisonProblem(runs);
  if (problem !== undefined) throw new Error(problem);
  const groups = new Map<string, ComparedRun[]>();
  for (const run of runs) {
    const env = run.result.environment;
    const key = `${text(env.etcdVersion)}\u0000${text(env.imageId ?? env.image)}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const versionsSeen = new Map<string, number>();
  for (const group of groups.values()) {
    const version = text(group[0]?.result.environment.etcdVersion);
    versionsSeen.set(version, (versionsSeen.get(version) ?? 0) + 1);
  }
  const columns = [...groups.values()].map((group) => column(group, versionsSeen));
  columns.sort((a, b) => compareVersionLabels(a.label, b.label));
  const first = runs[0]?.result;
  return { experiment: first?.name ?? '', title: first?.title ?? '', columns };
}

function column(group: readonly ComparedRun[], versionsSeen: ReadonlyMap<string, number>): VersionColumn {
  const results = group.map((r) => r.result);
  const env = results[0]?.environment;
  const etcdVersion = text(env?.etcdVersion);
  const image = text(env?.image);
  const provenance = env?.etcdProvenance as { readonly source?: string } | undefined;
  const stallSteps = results.flatMap((r) => r.steps.filter(tookLeader));
  const shareOk = (r: ExperimentResult): number | null => {
    const o = r.workload?.duringFault.outcomes;
    const total = o === undefined ? 0 : o.ok + o.fail + o.indeterminate;
    return o === undefined || total === 0 ? null : o.ok / total;
  };
  const values = (xs: readonly (number | null | undefined)[]): Spread | null => {
    const present = xs.filter((x): x is number => x !== null && x !== undefined);
    return present.length === 0 ? null : spreadOf(present);
  };
  const statuses = (pick: (r: ExperimentResult) => { readonly status: string } | null | undefined) => {
    const counts: Record<string, number> = {};
    for (const r of results) {
      const status = pick(r)?.status;
      if (status !== undefined) counts[status] = (counts[status] ?? 0) + 1;
    }
    return counts;
  };
  return {
    label: (versionsSeen.get(etcdVersion) ?? 0) > 1 ? `${etcdVersion} (${image})` : etcdVersion,
    etcdVersion,
    image,
    imageSource: text(provenance?.source ?? env?.imageSource),
    preVote: [...new Set(results.map((r) => text(r.environment.preVote)))].join(', '),
    directories: group.flatMap((r) => (r.directory === undefined ? [] : [r.directory])),
    summary: summarizeRepetitions(results[0]?.name ?? '', results),
    observed:
      results.length === 1 && results[0] !== undefined
        ? Object.fromEntries(results[0].checks.map((k) => [k.name, k.observed]))
        : null,
    writeStalls: values(stallSteps.map((s) => s.writeStall?.durationMs)),
    baselineP99: values(results.map((r) => r.workload?.baseline.latency.p99)),
    duringFaultP99: values(results.map((r) => r.workload?.duringFault.latency.p99)),
    okDuringFaults: values(results.map(shareOk)),
    started: {
      first: results.map((r) => r.startedAt).sort()[0] ?? '',
      last:
        results
          .map((r) => r.startedAt)
          .sort()
          .at(-1) ?? '',
    },
    loadAtStart: values(results.map((r) => r.environment.host?.loadAverage?.start?.[0])),
    linearizable: statuses((r) => r.linearizability),
    acknowledgedWrites: statuses((r) => r.acknowledgedWrites),
  };
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** How a check came out in one column: the run's observation, or the verdicts and estimates over its runs. */
function checkCell(c: VersionColumn, name: string): string {
  const across = c.summary.checks.find((k) => k.name === name);
  if (across === undefined) return '–';
  if (c.observed !== null) {
    const verdict = Object.keys(across.verdicts)[0] as Verdict | undefined;
    return `${verdict === undefined ? '' : `${verdictMark(verdict)} `}${c.observed[name] ?? ''}`;
  }
  const unit = across.expected.includes('%') ? 'share' : 'ms';
  return `${describeCounts(across.verdicts)}${across.estimate ? `; estimate ${describeSpread(across.estimate, unit)}` : ''}`;
}

const minute = (iso: string) => iso.slice(0, 16).replace('T', ' ');
const startedText = ({ first, last }: VersionColumn['started']) =>
  first === last ? minute(first) : `${minute(first)} – ${minute(last)}`;
const loadText = (s: Spread | null) =>
  s === null || s.median === null
    ? 'unknown'
    : `${s.median.toFixed(1)}${s.min === s.max ? '' : ` (${(s.min ?? 0).toFixed(1)}–${(s.max ?? 0).toFixed(1)})`}`;

/** The comparison as markdown: a column per version, a row per check and per figure. */
export function renderVersionComparison(comparison: VersionComparison): string {
  const { columns } = comparison;
  const header = `| | ${columns.map((c) => `etcd ${cell(c.label)}`).join(' | ')} |`;
  const rule = `|---|${columns.map(() => '---').join('|')}|`;
  const row = (name: string, values: readonly string[]) =>
    `| ${cell(name)} | ${values.map((v) => cell(v)).join(' | ')} |`;
  const checkNames = [...new Set(columns.flatMap((c) => c.summary.checks.map((k) => k.name)))];
  const lines = [
    `# ${comparison.title} — etcd ${columns.map((c) => c.label).join(' vs ')}`,
    '',
    `Experiment \`${comparison.experiment}\`, one column per etcd version (every run of that version together).`,
    '',
    header,
    rule,
    row(
      'image',
      columns.map((c) => `${c.image} (${c.imageSource})`),
    ),
    row(
      'pre-vote',
      columns.map((c) => c.preVote),
    ),
    row(
      'runs started (UTC); host load at the start',
      columns.map((c) => `${startedText(c.started)}; load ${loadText(c.loadAtStart)}`),
    ),
    row(
      'runs: verdicts',
      columns.map((c) => `${c.summary.runs}: ${describeCounts(c.summary.verdicts)}`),
    ),
    ...checkNames.map((name) => {
      const expected = columns
        .flatMap((c) => c.summary.checks.filter((k) => k.name === name).map((k) => k.expected))
        .at(0);
      return row(
        `${name}${expected === undefined ? '' : ` (${expected})`}`,
        columns.map((c) => checkCell(c, name)),
      );
    }),
    row(
      'time to a new leader',
      columns.map((c) =>
        c.summary.elections === null
          ? 'no leader taken'
          : `${c.summary.elections.count} elections: ${describeSpread(c.summary.elections)}`,
      ),
    ),
    row(
      'rounds per election (from the logs)',
      columns.map((c) =>
        c.summary.rounds === null
          ? '–'
          : describeRounds(c.summary.rounds).replace(/^rounds per election, from the logs /, ''),
      ),
    ),
    row(
      'write stall around a leader loss',
      columns.map((c) => describeSpread(c.writeStalls)),
    ),
    row(
      'p99 latency before any fault',
      columns.map((c) => describeSpread(c.baselineP99)),
    ),
    row(
      'p99 latency during faults',
      columns.map((c) => describeSpread(c.duringFaultP99)),
    ),
    row(
      'operations ok during faults',
      columns.map((c) => describeSpread(c.okDuringFaults, 'share')),
    ),
    row(
      'linearizable',
      columns.map((c) => describeCounts(c.linearizable) || 'not checked'),
    ),
    row(
      'acknowledged writes',
      columns.map((c) => describeCounts(c.acknowledgedWrites) || 'not checked'),
    ),
  ];
  const dirs = columns.filter((c) => c.directories.length > 0);
  if (dirs.length > 0) {
    lines.push('', 'Results directories:', '');
    for (const c of dirs) lines.push(`- etcd ${c.label}: ${c.directories.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The runs a column stands for (its etcd version and image). */
export function runsInColumn(column: VersionColumn, runs: readonly ComparedRun[]): ComparedRun[] {
  return runs.filter(
    (r) =>
      text(r.result.environment.etcdVersion) === column.etcdVersion &&
      text(r.result.environment.image) === column.image,
  );
}
