import { describe, expect, it } from 'vitest';
import { registerCleanup, runAllCleanups } from '../../src/host/cleanup.ts';

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('runAllCleanups is single-flight', () => {
  it('a second caller returns only when the entries the first caller took have finished, in reverse order', async () => {
    const events: string[] = [];
    let finishCluster: () => void = () => undefined;
    registerCleanup('network', () => {
      events.push('network removed');
      return Promise.resolve();
    });
    registerCleanup('cluster', async () => {
      events.push('cluster removing');
      await new Promise<void>((resolve) => (finishCluster = resolve));
      events.push('cluster removed');
    });
    // A forced cleanup (the second Ctrl-C) takes the cluster entry and is mid-removal …
    const forced = runAllCleanups();
    await settle();
    // … when the CLI's own cleanup before its exit arrives: it must wait, not see an empty list.
    let secondDone = false;
    const second = runAllCleanups().then(() => {
      secondDone = true;
      events.push('second caller returned');
    });
    expect(second).toBeDefined();
    await settle();
    expect(secondDone).toBe(false);
    expect(events).toEqual(['cluster removing']);
    finishCluster();
    await Promise.all([forced, second]);
    expect(events).toEqual([
      'cluster removing',
      'cluster removed',
      'network removed',
      'second caller returned',
    ]);
  });

  it('after a run has finished, the next call starts a new one (entries registered since are run)', async () => {
    const events: string[] = [];
    await runAllCleanups();
    registerCleanup('late', () => {
      events.push('late');
      return Promise.resolve();
    });
    await runAllCleanups();
    expect(events).toEqual(['late']);
  });

  it('a failing entry does not stop the rest, and both callers still return', async () => {
    const events: string[] = [];
    registerCleanup('second', () => {
      events.push('second');
      return Promise.resolve();
    });
    registerCleanup('first', () => Promise.reject(new Error('boom')));
    await Promise.all([runAllCleanups(), runAllCleanups()]);
    expect(events).toEqual(['second']);
  });
});
