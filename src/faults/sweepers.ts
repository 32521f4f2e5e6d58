import { registerSweeper } from '../host/cleanup.ts';
import { sweepDelayHelpers } from './network/nfq-delay-process.ts';

let registered = false;

/**
 * Adds what faults can leave outside any container (nfq-delay helpers running in a member's
 * network namespace) to the host's leftover sweep. Called by sweepLeftovers itself (a lazy
 * import), so every sweep — host preparation before a run, `etcd-lab clean`, a library user's
 * own call — includes them, rather than whenever a fault module happens to be loaded.
 * Idempotent.
 */
export function registerFaultSweepers(): void {
  if (registered) return;
  registered = true;
  registerSweeper(sweepDelayHelpers);
}
