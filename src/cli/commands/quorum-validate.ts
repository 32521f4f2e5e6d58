import { join } from 'node:path';
import { EXIT_HELP, exitCodeFor } from '../exit-codes.ts';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BadInputError } from '../../errors.ts';
import { MECHANISMS, type Mechanism } from '../../plans/quorum/matrix.ts';
import type { AvailabilityRunOptions, QuorumMatrixOptions } from '../../plans/quorum/quorum-options.ts';
import { progress } from '../../util/log.ts';
import { verdictMark } from '../../checks/check.ts';
import { markRunCompleted, takeRunSignal } from '../interrupt.ts';
import { chooseEtcd } from '../../host/etcd-choice.ts';
import { addEtcdFlags, obtainChosenEtcd } from '../etcd-flag.ts';
import { checkEtcdTiming, checkWritableDir, durationMs, integerIn, positiveInteger } from '../options.ts';

interface QuorumValidateOptions {
  readonly sizes: number[];
  readonly mechanism: readonly Mechanism[];
  readonly matrix: boolean;
  readonly latency: boolean;
  readonly availability?: number;
  readonly availabilityMembers: number;
  readonly mttf: number;
  readonly mttr: number;
  readonly seed: number;
  readonly heartbeatMs?: number;
  readonly electionTimeoutMs?: number;
  readonly observeMs?: number;
  readonly etcd?: string;
  readonly image?: string;
  readonly out?: string;
  readonly json: boolean;
}

/** The flag each option of the matrix and the availability run is given by, for refusals in the user's words. */
export const QUORUM_VALIDATE_FLAGS = {
  sizes: '--sizes',
  mechanisms: '--mechanism',
  observeMs: '--observe-ms',
  heartbeatMs: '--heartbeat-ms',
  electionTimeoutMs: '--election-timeout-ms',
  members: '--availability-members',
  mttfMs: '--mttf',
  mttrMs: '--mttr',
  durationMs: '--availability',
  // Not a flag: derived from the election timeout.
  callTimeoutMs: 'call timeout (4 × --election-timeout-ms)',
} as const;

/**
 * `etcd-lab quorum-validate`: the quorum model against real etcd clusters. Exit code 0: every cell
 * matched and every claim held; 1: a mismatch or a deviated claim; 3: a claim undecided; 2: bad input or
 * the lab failed; 130: interrupted (the aborted result is written).
 */
export function registerQuorumValidate(program: Command): void {
  const command = program
    .command('quorum-validate')
    .addHelpText('after', EXIT_HELP)
    .description(
      'check the quorum model on real clusters: the n × k matrix (kill and isolate), the claims, write latency by size, and optionally a time-compressed availability run',
    )
    .addOption(
      new Option('--sizes <list>', 'cluster sizes, e.g. 1-7, 3,4 or 3')
        .argParser(parseSizes)
        .default([1, 2, 3, 4, 5, 6, 7], '1-7'),
    )
    .addOption(
      new Option('--mechanism <kind>', 'how members are taken down: kill, isolate or both')
        .argParser(parseMechanism)
        .default(MECHANISMS, 'both'),
    )
    .option('--no-matrix', 'skip the matrix (e.g. to run only --availability)')
    .option('--no-latency', 'skip the write-latency comparison of sizes 1, 3, 5, 7')
    .option(
      '--availability <duration>',
      'also run random failures for this long, e.g. 300s or 5m',
      durationMs,
    )
    .option('--availability-members <n>', 'cluster size of the availability run', integerIn(1, 7), 3)
    .option(
      '--mttf <duration>',
      'scaled mean time to failure of a member (availability run)',
      durationMs,
      30_000,
    )
    .option(
      '--mttr <duration>',
      'scaled mean time to repair of a member (availability run)',
      durationMs,
      10_000,
    )
    .option('--seed <n>', 'seed of the failure schedule', positiveInteger, 1)
    // Defaults (QUORUM_TIMING) are applied in the action: loading the module that holds them
    // takes seconds, which a mistyped flag should not wait for.
    .option('--heartbeat-ms <ms>', 'etcd heartbeat interval (default: 25)', positiveInteger)
    .option('--election-timeout-ms <ms>', 'etcd election timeout (default: 250)', positiveInteger)
    .option(
      '--observe-ms <ms>',
      'how long each question may take per cell (default 12 × election timeout)',
      positiveInteger,
    );
  addEtcdFlags(command)
    .option('--out <dir>', 'results directory (default results/quorum-validate-<time>)')
    .option('--json', 'print result.json to stdout', false)
    .action(async (options: QuorumValidateOptions) => {
      if (!options.matrix && options.availability === undefined) {
        throw new BadInputError('--no-matrix without --availability leaves nothing to run');
      }
      await checkWritableDir(
        options.out === undefined ? 'results directory' : '--out',
        options.out ?? 'results',
      );
      const { DEFAULT_LATENCY_LOAD, QUORUM_TIMING } = await import('../../plans/quorum/quorum-options.ts');
      const timing = {
        heartbeatMs: options.heartbeatMs ?? QUORUM_TIMING.heartbeatMs,
        electionTimeoutMs: options.electionTimeoutMs ?? QUORUM_TIMING.electionTimeoutMs,
      };
      checkEtcdTiming(timing);
      const { runQuorumClaims } = await import('../../plans/quorum/run-quorum-claims.ts');
      const { writeQuorumClaimsResults } = await import('../../plans/quorum/report.ts');
      const { validateAvailabilityOptions, validateMatrixOptions } =
        await import('../../plans/quorum/quorum-options.ts');
      const choice = chooseEtcd(options);
      const image = choice === undefined ? {} : { image: choice.request };
      const matrix: QuorumMatrixOptions | undefined = options.matrix
        ? {
            sizes: options.sizes,
            mechanisms: options.mechanism,
            ...timing,
            ...image,
            ...(options.observeMs === undefined ? {} : { observeMs: options.observeMs }),
            ...(options.latency ? { latencyLoad: DEFAULT_LATENCY_LOAD } : {}),
            onCell: (cell) =>
              progress(
                `n=${cell.members} ${cell.mechanism} k=${cell.down}: ${cell.verdict}` +
                  (cell.observation === null
                    ? ''
                    : ` (writes ${cell.observation.write.ok ? 'ok' : 'refused'}, leader ${cell.observation.leader.present ? 'yes' : 'no'})`) +
                  (cell.mismatches.length > 0 && cell.verdict === 'mismatch'
                    ? ` — ${cell.mismatches.join('; ')}`
                    : ''),
              ),
          }
        : undefined;
      const availability: AvailabilityRunOptions | undefined =
        options.availability === undefined
          ? undefined
          : {
              members: options.availabilityMembers,
              mttfMs: options.mttf,
              mttrMs: options.mttr,
              durationMs: options.availability,
              seed: options.seed,
              ...timing,
              ...image,
            };
      // runQuorumClaims checks these too, but in the library's field names (mttfMs, …).
      if (matrix !== undefined) validateMatrixOptions(matrix, QUORUM_VALIDATE_FLAGS);
      if (availability !== undefined) validateAvailabilityOptions(availability, QUORUM_VALIDATE_FLAGS);
      await obtainChosenEtcd(choice);
      const { result, history } = await runQuorumClaims({
        // Ctrl-C aborts this: clusters are healed and removed, and the aborted result written below.
        signal: takeRunSignal(),
        ...(matrix === undefined ? {} : { matrix }),
        ...(availability === undefined ? {} : { availability }),
      });
      // A completed run's result keeps its own exit code, even if Ctrl-C comes while it is written.
      if (result.status === 'completed') markRunCompleted();
      const dir = options.out ?? join('results', `quorum-validate-${result.startedAt.replace(/[:.]/g, '-')}`);
      const files = await writeQuorumClaimsResults(dir, result, options.matrix ? history : null);
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        for (const claim of result.checks) {
          process.stdout.write(`${verdictMark(claim.verdict)} ${claim.name}: ${claim.observed}\n`);
        }
        process.stdout.write(
          `\nquorum-validate: ${result.status}${result.error === undefined ? '' : ` (${result.error.split('\n')[0] ?? ''})`}, ` +
            `${result.verdict === 'held' ? 'all claims held' : result.verdict.toUpperCase()}, wall time ${(result.durationMs / 1000).toFixed(1)} s\n` +
            `results: ${files.join(', ')}\n`,
        );
      }
      process.exitCode = exitCodeFor(result.status, result.verdict);
    });
}

/** "1-7", "3,4", "1-3,5": distinct sizes from 1 to 7, in the order given. */
export function parseSizes(value: string): number[] {
  const sizes: number[] = [];
  for (const part of value.split(',')) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const from = Number(match?.[1]);
    const to = match?.[2] === undefined ? from : Number(match[2]);
    if (match === null || from < 1 || to > 7 || to < from) {
      throw new InvalidArgumentError(`expected sizes from 1 to 7 such as 1-7, 3,4 or 3, got "${value}"`);
    }
    for (let n = from; n <= to; n++) if (!sizes.includes(n)) sizes.push(n);
  }
  return sizes;
}

function parseMechanism(value: string): readonly Mechanism[] {
  if (value === 'both') return MECHANISMS;
  if ((MECHANISMS as readonly string[]).includes(value)) return [value as Mechanism];
  throw new InvalidArgumentError(`expected kill, isolate or both, got "${value}"`);
}
