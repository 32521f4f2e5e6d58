import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/faults/host-command.ts';

// The one runner for host commands (fault mechanisms and capability probes): an outcome, never a
// rejection, with a one-line reason a probe can show as it is.
describe('runCommand', () => {
  it('returns stdout of a command that succeeds, with no reason', async () => {
    const outcome = await runCommand('node', ['-e', 'process.stdout.write("hello")']);
    expect(outcome).toMatchObject({ ok: true, stdout: 'hello', reason: '' });
    expect(outcome.command).toBe('node -e process.stdout.write("hello")');
  });

  it('gives the first three lines of stderr as the reason for a failure', async () => {
    const script = 'console.error("one\\n\\ntwo\\nthree\\nfour"); process.exit(3)';
    const outcome = await runCommand('node', ['-e', script]);
    expect(outcome.ok).toBe(false);
    expect(outcome.reason).toBe('one | two | three');
    expect(outcome.stderr).toBe('one\n\ntwo\nthree\nfour');
  });

  it('says when a command does not exist, or took too long', async () => {
    const missing = await runCommand('etcd-lab-no-such-command', ['x']);
    expect(missing).toMatchObject({ ok: false, reason: 'etcd-lab-no-such-command: command not found' });
    const slow = await runCommand('node', ['-e', 'setTimeout(() => {}, 10_000)'], { timeoutMs: 200 });
    expect(slow).toMatchObject({ ok: false, reason: 'timed out after 200 ms' });
  });
});
