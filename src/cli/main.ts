import { Command, CommanderError } from 'commander';
import { LabError } from '../errors.ts';
import { installExitHandlers, runAllCleanups } from '../host/cleanup.ts';
import { registerClean } from './commands/clean.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerQuorum } from './commands/quorum.ts';
import { registerQuorumValidate } from './commands/quorum-validate.ts';
import { registerRun } from './commands/run.ts';
import { registerSweep } from './commands/sweep.ts';
import { registerUpDown } from './commands/up-down.ts';

/** Exit codes: 0 ok / hypothesis held, 1 hypothesis deviated, 2 bad input or the lab failed. */
export const EXIT = { ok: 0, deviated: 1, labFailure: 2 } as const;

const program = new Command()
  .name('etcd-lab')
  .description('Fault-injection laboratory for real etcd clusters')
  .showHelpAfterError()
  .exitOverride();

registerRun(program);
registerDoctor(program);
registerUpDown(program);
registerClean(program);
registerQuorum(program);
registerQuorumValidate(program);
registerSweep(program);

installExitHandlers({ uncaught: true });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  await runAllCleanups();
  if (error instanceof CommanderError) {
    // --help and --version end up here too, with exit code 0.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.labFailure;
  } else if (error instanceof LabError) {
    process.stderr.write(`etcd-lab: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`etcd-lab: ${(error as Error).message ?? String(error)}\n`);
    process.exitCode = EXIT.labFailure;
  }
}
