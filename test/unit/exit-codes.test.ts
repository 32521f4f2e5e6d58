import { describe, expect, it } from 'vitest';
import { EXIT, EXIT_HELP, exitCodeFor } from '../../src/cli/exit-codes.ts';
import { Interrupt, type InterruptEffects } from '../../src/cli/interrupt.ts';

describe('exit codes', () => {
  it('map verdicts and statuses: held 0, deviated 1, inconclusive 3, failed 2, aborted 130', () => {
    expect(exitCodeFor('completed', 'held')).toBe(0);
    expect(exitCodeFor('completed', 'deviated')).toBe(1);
    expect(exitCodeFor('completed', 'inconclusive')).toBe(3);
    for (const verdict of ['held', 'deviated', 'inconclusive'] as const) {
      expect(exitCodeFor('failed', verdict)).toBe(2);
      expect(exitCodeFor('aborted', verdict)).toBe(130);
    }
  });

  it('are all documented in --help', () => {
    for (const code of Object.values(EXIT)) expect(EXIT_HELP).toMatch(new RegExp(`\\b${code}\\b`));
  });
});

/** An interrupt whose effects are recorded in order instead of touching the process. */
function recorded(options: { readonly cleanupMs?: number } = {}) {
  const events: string[] = [];
  const timers: (() => void)[] = [];
  let finishCleanup: () => void = () => undefined;
  const effects: InterruptEffects = {
    cleanup: () => {
      events.push('cleanup');
      return options.cleanupMs === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => (finishCleanup = resolve));
    },
    exit: (code) => events.push(`exit ${code}`),
    say: (line) => events.push(`say ${line.trim()}`),
    after: (_ms, run) => timers.push(run),
    graceMs: 60_000,
  };
  return { interrupt: new Interrupt(effects), events, timers, finishCleanup: () => finishCleanup() };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the CLI interrupt (one owner of Ctrl-C)', () => {
  it('first Ctrl-C aborts the run signal and leaves exiting to the command that took it', async () => {
    const { interrupt, events } = recorded();
    const signal = interrupt.takeSignal();
    interrupt.onSignal('SIGINT', 1);
    await settle();
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('interrupted by SIGINT');
    expect(interrupt.stoppedBy).toBe('SIGINT');
    expect(interrupt.exitCode).toBe(130);
    // Nothing is removed under the command's feet and nobody exits: the command writes its result first.
    expect(events.filter((e) => !e.startsWith('say'))).toEqual([]);
  });

  it('SIGTERM ends with 143, SIGHUP with 129', () => {
    const term = recorded().interrupt;
    term.takeSignal();
    term.onSignal('SIGTERM', 1);
    expect(term.exitCode).toBe(143);
    const hup = recorded().interrupt;
    hup.takeSignal();
    hup.onSignal('SIGHUP', 1);
    expect(hup.exitCode).toBe(129);
  });

  it('a second Ctrl-C stops waiting: cleanup runs, then the exit; a third exits at once', async () => {
    const { interrupt, events, finishCleanup } = recorded({ cleanupMs: 1 });
    interrupt.takeSignal();
    interrupt.onSignal('SIGINT', 1);
    interrupt.onSignal('SIGINT', 2);
    await settle();
    expect(events.filter((e) => !e.startsWith('say'))).toEqual(['cleanup']);
    interrupt.onSignal('SIGINT', 3);
    expect(events.filter((e) => !e.startsWith('say'))).toEqual(['cleanup', 'exit 130']);
    finishCleanup();
    await settle();
    expect(events.at(-1)).toBe('exit 130');
  });

  it('without a command that took the signal, the first Ctrl-C cleans up and exits 130', async () => {
    const { interrupt, events } = recorded();
    interrupt.onSignal('SIGINT', 1);
    await settle();
    expect(events.filter((e) => !e.startsWith('say'))).toEqual(['cleanup', 'exit 130']);
  });

  it('Ctrl-C once the run has completed (its result being written) keeps the exit code of the result', async () => {
    const { interrupt, events } = recorded();
    interrupt.takeSignal();
    interrupt.markCompleted();
    interrupt.onSignal('SIGINT', 1);
    await settle();
    expect(interrupt.stoppedBy).toBe('SIGINT');
    expect(interrupt.exitCode).toBeUndefined();
    expect(events.filter((e) => !e.startsWith('say'))).toEqual([]);
    // A signal that came during the run, which completed anyway: the complete result decides too.
    const late = recorded().interrupt;
    late.takeSignal();
    late.onSignal('SIGTERM', 1);
    expect(late.exitCode).toBe(143);
    late.markCompleted();
    expect(late.exitCode).toBeUndefined();
  });

  it('a command that does not stop within the grace time is cleaned up after and exited', async () => {
    const { interrupt, events, timers } = recorded();
    interrupt.takeSignal();
    interrupt.onSignal('SIGTERM', 1);
    expect(timers).toHaveLength(1);
    timers[0]?.();
    await settle();
    expect(events.filter((e) => !e.startsWith('say'))).toEqual(['cleanup', 'exit 143']);
    expect(events.some((e) => /did not stop within 60 s/.test(e))).toBe(true);
  });
});
