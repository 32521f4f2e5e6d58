import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

/**
 * A process wired like the CLI (src/cli/main.ts): the interrupt owns the stop signals, a
 * "cluster" is registered for cleanup, and the "command" takes the run signal. With `stops`, the
 * command writes its aborted result when the signal fires and the process exits with the
 * interrupt's code; without, it never stops (a stuck run).
 */
const child = (stops: boolean) => `
setInterval(() => undefined, 60_000); // the run's sockets and timers, which keep a real CLI alive
const { installCliInterrupt, takeRunSignal } = await import('${SRC}/cli/interrupt.ts');
const { registerCleanup, runAllCleanups, installExitHandlers } = await import('${SRC}/host/cleanup.ts');
const interrupt = installCliInterrupt();
try { installExitHandlers(); } catch (error) { process.stdout.write('SECOND OWNER REFUSED\\n'); }
// Refused once is refused again: a failed install must not count as installed.
try { installExitHandlers(); process.stdout.write('SECOND OWNER INSTALLED\\n'); } catch (error) { process.stdout.write('SECOND OWNER REFUSED\\n'); }
registerCleanup('cluster', async () => { process.stdout.write('CLEANED\\n'); });
const signal = takeRunSignal();
process.stdout.write('READY\\n');
await new Promise((resolve) => signal.addEventListener('abort', resolve));
if (${String(stops)}) {
  process.stdout.write('RESULT aborted: ' + signal.reason.message + '\\n');
  await runAllCleanups();
  process.exit(interrupt.exitCode);
}
`;

async function run(stops: boolean, signals: readonly NodeJS.Signals[]) {
  const lab = execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child(stops)], {
    reject: false,
    cwd: path.resolve(SRC, '..'),
  });
  await new Promise<void>((resolve) => {
    let out = '';
    lab.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('READY')) resolve();
    });
  });
  for (const signal of signals) {
    lab.kill(signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return lab;
}

describe('the CLI interrupt in a real process', () => {
  it('Ctrl-C: the command writes its aborted result, cleanup runs, exit 130; one owner only', async () => {
    const ended = await run(true, ['SIGINT']);
    expect(ended.exitCode).toBe(130);
    expect(ended.stdout.split('\n')).toEqual([
      'SECOND OWNER REFUSED',
      'SECOND OWNER REFUSED',
      'READY',
      'RESULT aborted: interrupted by SIGINT',
      'CLEANED',
    ]);
    expect(ended.stderr).toContain('SIGINT: stopping');
  }, 30_000);

  it('SIGTERM exits 143', async () => {
    const ended = await run(true, ['SIGTERM']);
    expect(ended.exitCode).toBe(143);
    expect(ended.stdout).toContain('RESULT aborted: interrupted by SIGTERM');
  }, 30_000);

  it('a second Ctrl-C stops waiting for a stuck command: cleanup, then exit 130', async () => {
    const ended = await run(false, ['SIGINT', 'SIGINT']);
    expect(ended.exitCode).toBe(130);
    expect(ended.stdout).toContain('CLEANED');
    expect(ended.stdout).not.toContain('RESULT');
    expect(ended.stderr).toContain('not waiting for the results');
  }, 30_000);

  it('--help documents the exit codes, 130 for Ctrl-C among them', async () => {
    const help = await execa(process.execPath, ['bin/etcd-lab.js', '--help'], {
      reject: false,
      cwd: path.resolve(SRC, '..'),
    });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:/);
    expect(help.stdout).toMatch(/130\s+stopped by Ctrl-C \(143 SIGTERM, 129 SIGHUP\)/);
  }, 30_000);
});
