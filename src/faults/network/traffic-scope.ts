import { CLIENT_PORT, PEER_PORT } from '../../cluster/etcd-options.ts';
import { BadInputError } from '../../errors.ts';

/**
 * Which of a member's traffic a network fault acts on, whatever mechanism produces it:
 * - `peers`: what the target sends to the other members (Raft messages, snapshots), the default;
 * - `clients`: the target's client path, one way: its replies to clients on tc, the clients'
 *   requests arriving at it on the NFQUEUE/iptables fallback (each client round trip crosses the
 *   fault once either way);
 * - `all`: both.
 * A directed fault (`to: …`) is peer traffic to those members only.
 */
export type TrafficScope = 'peers' | 'clients' | 'all';

export const TRAFFIC_SCOPES: readonly TrafficScope[] = ['peers', 'clients', 'all'];

/** The two kinds of traffic a scope is made of; each is one band of the member's tc tree. */
export type TrafficBand = 'peers' | 'clients';

export function scopeBands(scope: TrafficScope): TrafficBand[] {
  return scope === 'all' ? ['peers', 'clients'] : [scope];
}

export function requireScope(scope: TrafficScope | undefined, directed: boolean): TrafficScope {
  const value = scope ?? 'peers';
  if (!TRAFFIC_SCOPES.includes(value)) {
    throw new BadInputError(`scope must be one of ${TRAFFIC_SCOPES.join(', ')}, got ${String(scope)}`);
  }
  if (directed && value !== 'peers') {
    throw new BadInputError(`scope ${value} with "to": a directed fault acts on peer traffic only`);
  }
  return value;
}

/**
 * How a band's packets are told apart on the member's egress (tc u32 matches): a member sends
 * peer traffic to a peer's port (connections it dialled) or from its own peer port (connections
 * dialled to it), and client traffic from its client port.
 */
export const BAND_MATCHES: Readonly<Record<TrafficBand, readonly (readonly string[])[]>> = {
  peers: [
    ['ip', 'dport', String(PEER_PORT), '0xffff'],
    ['ip', 'sport', String(PEER_PORT), '0xffff'],
  ],
  clients: [['ip', 'sport', String(CLIENT_PORT), '0xffff']],
};
