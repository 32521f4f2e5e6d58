/**
 * The one results envelope every plan writes (experiment, sweep, quorum claims): what ran,
 * how it ended (Chaos Toolkit's journal: completed / failed / aborted), the verdict, where it ran
 * and every check in the one Check shape. The plan's own payload (an experiment's steps, a
 * sweep's cells, the quorum matrix) sits beside these fields in the same JSON object, so a
 * consumer reads `kind` and the common fields without knowing the plan.
 *
 * Writers: result.json (atomically: a temporary file renamed into place, so a result.json that
 * exists is complete; written first), junit.xml (one test case per check) and report.md (the
 * plan's renderer, built from the pieces here; written last, after the plan's charts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import junitModule, { type Builder } from 'junit-report-builder';
import { runVerdict, type Check, type Verdict } from '../checks/check.ts';
import { LabError } from '../errors.ts';
import { writeJsonAtomically } from '../util/atomic-json.ts';
import { wallClockSteps, type WallClockStep } from '../util/wall-clock-steps.ts';

/** 4: one envelope for every plan (kind, status, error, verdict, environment, checks). */
export const RESULTS_SCHEMA_VERSION = 4;

export type PlanKind = 'experiment' | 'sweep' | 'quorum-validation';

/** completed: ran to the end; failed: the lab itself failed (see error); aborted: interrupted (Ctrl-C, SIGTERM). */
export type RunStatus = 'completed' | 'failed' | 'aborted';

/** The machine a run ran on, as far as it shapes the numbers. */
export interface HostInfo {
  readonly hostname: string;
  /** `os.platform()` and kernel release, e.g. "linux 6.8.0". */
  readonly os: string;
  readonly arch: string;
  readonly cpus: number;
  readonly node: string;
  /** Load averages (1/5/15 min) when the run started and ended: a busy host stretches every timing. */
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  /**
   * Steps of the host's wall clock noticed in this process up to the run's end (NTP, a paused
   * VM). etcd's log times are corrected for them (src/util/wall-clock-steps.ts); empty normally.
   */
  readonly wallClockSteps: readonly WallClockStep[];
}

/**
 * Where a run ran. etcd's version and image are always there (null when no cluster started);
 * the rest is what the plan's cluster records: an experiment's one cluster all of it (members,
 * timing, pre-vote, image id, the fault mechanisms this host used, …), a sweep's or quorum-claims run's
 * many clusters only the image fields they share ({@link imageFields}).
 */
export type RunEnvironment = Readonly<Record<string, unknown>> & {
  readonly etcdVersion: string | null;
  readonly image: string | null;
  readonly host: HostInfo;
};

/** The fields every plan's result.json has; the plan's payload is added beside them. */
export interface ResultsEnvelope<Kind extends PlanKind = PlanKind> {
  readonly schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  readonly kind: Kind;
  /** The experiment's or sweep's name; "quorum-validate" for a quorum-claims run. */
  readonly name: string;
  readonly title: string;
  readonly status: RunStatus;
  /** Why the run failed or was aborted (a lab failure's message, or the signal); absent when it completed. */
  readonly error?: string;
  /**
   * Every check together: deviated if any deviated, else inconclusive if any could not be
   * decided, else held. A run that did not complete is never 'held' (see runVerdict).
   */
  readonly verdict: Verdict;
  /** verdict === 'deviated', for consumers that only ask that. */
  readonly deviated: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly environment: RunEnvironment;
  readonly checks: readonly Check[];
}

/** What a plan knows at the end of its run; `envelope` derives the rest. */
export interface EnvelopeInput<Kind extends PlanKind> {
  readonly kind: Kind;
  readonly name: string;
  readonly title: string;
  readonly status: RunStatus;
  readonly error?: string | undefined;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly environment: RunEnvironment;
  readonly checks: readonly Check[];
}

/** The envelope's fields, in the order result.json shows them (the payload follows). */
export function envelope<Kind extends PlanKind>(input: EnvelopeInput<Kind>): ResultsEnvelope<Kind> {
  const verdict = runVerdict(input.status, input.checks);
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    kind: input.kind,
    name: input.name,
    title: input.title,
    status: input.status,
    ...(input.error === undefined ? {} : { error: input.error }),
    verdict,
    deviated: verdict === 'deviated',
    startedAt: input.startedAt,
    durationMs: input.durationMs,
    environment: input.environment,
    checks: input.checks,
  };
}

/** What a cluster records about etcd's image: the fields every cluster of one plan shares. */
export const IMAGE_FIELDS = [
  'etcdVersion',
  'image',
  'requestedImage',
  'imageId',
  'imageSource',
  'etcdProvenance',
] as const;

/**
 * Only etcd's version and image of what a cluster recorded (`describe()`): the environment of a
 * plan of many clusters (a sweep's cells, the quorum claims' matrix), where one cluster's run ID,
 * members and timing would describe that cluster, not the run. Each cluster keeps its own record.
 */
export function imageFields(
  cluster: Readonly<Record<string, unknown>> | undefined,
): Readonly<Record<string, unknown>> | undefined {
  if (cluster === undefined) return undefined;
  return Object.fromEntries(IMAGE_FIELDS.filter((key) => key in cluster).map((key) => [key, cluster[key]]));
}

/** This host, with the load average at the run's start (taken when the run began) and now. */
export function hostInfo(loadAtStart: readonly number[]): HostInfo {
  return {
    hostname: os.hostname(),
    os: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    cpus: os.availableParallelism(),
    node: process.version,
    loadAverage: { start: loadAtStart, end: os.loadavg() },
    wallClockSteps: wallClockSteps(),
  };
}

/**
 * The environment from what a cluster recorded (`describe()`), plus the host and anything the
 * plan adds. Without a cluster, etcd's version and image are null.
 */
export function runEnvironment(
  cluster: Readonly<Record<string, unknown>> | undefined,
  host: HostInfo,
  extra: Readonly<Record<string, unknown>> = {},
): RunEnvironment {
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  return {
    ...cluster,
    ...extra,
    etcdVersion: text(cluster?.etcdVersion),
    image: text(cluster?.image),
    host,
  };
}

/** How a run that ended in an exception is recorded: aborted when the signal fired, else failed with the message. */
export function endedBy(
  caught: unknown,
  signal: AbortSignal | undefined,
): { readonly status: 'failed' | 'aborted'; readonly error: string } {
  if (signal?.aborted === true) return { status: 'aborted', error: abortReason(signal) };
  // The lab's own errors are written for the reader; anything else keeps its stack for a bug report.
  const error = caught instanceof LabError ? caught.message : ((caught as Error).stack ?? String(caught));
  return { status: 'failed', error };
}

/** What stopped an aborted run, in words ("interrupted by SIGINT"). */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : 'aborted';
}

// ---------------------------------------------------------------- writers

/** The files every plan writes into its results directory, in the order returned. */
export const ENVELOPE_FILES = { result: 'result.json', junit: 'junit.xml', report: 'report.md' } as const;

/**
 * Writes result.json: the envelope and its payload, atomically (a result.json that exists is
 * complete). Plans write it first, before their slower extra files (history, CSV, charts), so a
 * failing chart or a second Ctrl-C while those are written still leaves the result.
 */
export async function writeResultJson(dir: string, result: ResultsEnvelope): Promise<string> {
  const file = join(dir, ENVELOPE_FILES.result);
  await writeJsonAtomically(file, result);
  return file;
}

/** Writes junit.xml and report.md (from the plan's renderer); returns their paths. */
export async function writeJunitAndReport(
  dir: string,
  result: ResultsEnvelope,
  reportMarkdown: string,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = [join(dir, ENVELOPE_FILES.junit), join(dir, ENVELOPE_FILES.report)] as const;
  await writeFile(files[0], renderJunit(result));
  await writeFile(files[1], reportMarkdown);
  return [...files];
}

/**
 * Writes result.json (the envelope and its payload, atomically), junit.xml and report.md (from
 * the plan's renderer); returns their paths. The plans themselves call the two halves
 * ({@link writeResultJson} first, {@link writeJunitAndReport} last) around their extra files
 * (history, charts, CSV, cell records).
 */
export async function writeEnvelope(
  dir: string,
  result: ResultsEnvelope,
  reportMarkdown: string,
): Promise<string[]> {
  const resultFile = await writeResultJson(dir, result);
  return [resultFile, ...(await writeJunitAndReport(dir, result, reportMarkdown))];
}

// A CommonJS module whose default export is the builder; TypeScript's NodeNext view of it
// (a namespace with a `default`) does not match what Node hands an ES module at run time.
const junit = junitModule as unknown as Builder;

/**
 * JUnit for CI systems: one test case per check (deviated fails, inconclusive is skipped — the
 * samples could not decide it, which is neither a pass nor a failure), and one failing case
 * when the run did not complete.
 */
export function renderJunit(result: ResultsEnvelope): string {
  const builder = junit.newBuilder();
  const suite = builder.testSuite().name(`etcd-lab ${result.name}`).timestamp(result.startedAt);
  if (result.status !== 'completed') {
    suite
      .testCase()
      .className(result.name)
      .name(`${result.kind} ran to completion`)
      .failure(`${result.status}: ${result.error ?? result.status}`);
  }
  for (const check of result.checks) {
    const test = suite.testCase().className(result.name).name(check.name);
    const detail = `expected ${check.expected}, observed ${check.observed}${check.why === undefined ? '' : `; ${check.why}`}${check.details === undefined ? '' : `\n${check.details}`}`;
    if (check.verdict === 'deviated') test.failure(detail);
    else if (check.verdict === 'inconclusive') test.skipped();
    else test.standardOutput(detail);
  }
  return builder.build();
}

// ---------------------------------------------------------------- Markdown pieces

/** Words for each verdict on the report's "Verdict:" line; a plan may say what "held" means for it. */
export interface VerdictWords {
  readonly held: string;
  readonly deviated: string;
  readonly inconclusive: string;
}

const DEFAULT_WORDS: VerdictWords = {
  held: '**HELD** — every check held',
  deviated: '**DEVIATED** — a check did not hold',
  inconclusive: '**INCONCLUSIVE** — the samples cannot decide every check (see how many more would)',
};

/** The report's verdict: the status when the run did not complete, else the verdict in the plan's words. */
export function verdictLine(result: ResultsEnvelope, words: Partial<VerdictWords> = {}): string {
  if (result.status !== 'completed') {
    const first = result.error?.split('\n')[0];
    return `**${result.status.toUpperCase()}**${first ? `: ${first}` : ''}`;
  }
  return { ...DEFAULT_WORDS, ...words }[result.verdict];
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The checks as a Markdown table (the first column's title is the plan's word: check, claim, …). */
export function checksTable(checks: readonly Check[], what = 'check'): string[] {
  return [
    `| ${what} | expected | observed | verdict |`,
    '| --- | --- | --- | --- |',
    ...checks.map(
      (c) =>
        `| ${cell(c.name)} | ${cell(c.expected)} | ${cell(c.observed)}${c.why === undefined ? '' : ` (${cell(c.why)})`} | ${c.verdict} |`,
    ),
  ];
}

/** "completed, 12.3 s; etcd 3.5.21 (image), host h (4 CPUs, load 0.52 at the start)". */
export function runLine(result: ResultsEnvelope): string {
  const env = result.environment;
  const host = env.host;
  return `Run ${result.startedAt}, ${(result.durationMs / 1000).toFixed(1)} s, ${result.status}; etcd ${env.etcdVersion ?? '?'} (${env.image ?? '?'}); host ${host.hostname} (${host.cpus} CPUs, load ${host.loadAverage.start.map((v) => v.toFixed(2)).join(' / ')} at the start, ${host.loadAverage.end.map((v) => v.toFixed(2)).join(' / ')} at the end).`;
}
