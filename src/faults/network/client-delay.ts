import type { TargetSpec } from '../targets.ts';
import { DelayFault } from './delay.ts';

export interface ClientDelayOptions {
  /** The members whose clients see a slow network. */
  readonly target: TargetSpec;
  readonly delayMs: number;
  /** Each packet gets delayMs ± up to jitterMs (uniform). Default 0. */
  readonly jitterMs?: number;
  readonly seed?: number;
}

/**
 * A slow network in front of etcd (the source text's "network slowness in front of the API
 * server", seen from etcd's side): every client round trip to the targets grows by about
 * `delayMs`; traffic between members is untouched. It is the delay fault with scope `clients`:
 * netem on the targets' replies where the kernel has it, else the nfq-delay helper holding the
 * clients' requests as they arrive (traffic-scope.ts).
 */
export class ClientDelayFault extends DelayFault {
  override readonly name: string = 'client-delay';

  constructor(options: ClientDelayOptions) {
    super({ ...options, scope: 'clients' });
  }
}
