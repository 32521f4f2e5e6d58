import { Command, CommanderError } from 'commander';
import { LabError } from '../errors.ts';
import { installCrashHandlers, runAllCleanups } from '../host/cleanup.ts';
import { PACKAGE_VERSION } from '../util/package-root.ts';
import { registerCheck } from './commands/check.ts';
import { registerClean } from './commands/clean.ts';
import { registerCompare } from './commands/compare.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerImages } from './commands/images.ts';
import { registerQuorum } from './commands/quorum.ts';
import { registerQuorumValidate } from './commands/quorum-validate.ts';
import { registerRun } from './commands/run.ts';
import { registerSweep } from './commands/sweep.ts';
import { registerUpDown } from './commands/up-down.ts';
import { errorReport } from './error-line.ts';
import { EXIT, EXIT_HELP } from './exit-codes.ts';
import { installCliInterrupt } from './interrupt.ts';

// Usage errors are not printed by commander (nor followed by the help text): the catch below
// prints each as one `etcd-lab: …` line naming the flag. --help still prints help.
const program = new Command()
  .name('etcd-lab')
  .description('Fault-injection laboratory for real etcd clusters')
  .version(PACKAGE_VERSION)
  .addHelpText('after', EXIT_HELP)
  .configureOutput({ outputError: () => undefined })
  .exitOverride();

registerRun(program);
registerDoctor(program);
registerImages(program);
registerUpDown(program);
registerClean(program);
registerQuorum(program);
registerQuorumValidate(program);
registerSweep(program);
registerCheck(program);
registerCompare(program);

installCrashHandlers();
// The one owner of Ctrl-C / SIGTERM: commands stop on its abort signal and write their results.
const interrupt = installCliInterrupt();

try {
  if (process.argv.length <= 2) {
    throw new CommanderError(
      EXIT.labFailure,
      'etcd-lab.missingCommand',
      `name a command: ${program.commands.map((command) => command.name()).join(', ')} (etcd-lab --help describes them)`,
    );
  }
  await program.parseAsync(process.argv);
} catch (error) {
  await runAllCleanups();
  if (error instanceof CommanderError && error.exitCode === 0) {
    // --help and --version end up here too.
    process.exitCode = EXIT.ok;
  } else if (interrupt.exitCode !== undefined) {
    // Stopped before it had a result to write (e.g. while refusing input): the signal says why.
    const first = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    process.stderr.write(
      `etcd-lab: ${interrupt.stoppedBy}: stopped before a result was written (${first})\n`,
    );
  } else {
    const { line, details } = errorReport(error);
    process.stderr.write(`${[line, ...details.map((detail) => `  ${detail}`)].join('\n')}\n`);
    process.exitCode = error instanceof LabError ? error.exitCode : EXIT.labFailure;
  }
}
if (interrupt.stoppedBy !== undefined) {
  // The interrupted command wrote its aborted result; whatever is still registered goes now (a
  // forced cleanup already under way is awaited to its end: runAllCleanups is single-flight), and
  // the exit is explicit: a timer or socket of the stopped run must not keep the process alive.
  // A run that had completed before the signal keeps its result's code (interrupt.exitCode is
  // undefined then).
  await runAllCleanups();
  process.exit(interrupt.exitCode ?? process.exitCode);
}
