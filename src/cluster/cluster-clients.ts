import type { Etcd3 } from 'etcd3';
import { createEtcdClient, type ClientOptions } from './clients.ts';
import type { EtcdMember } from './etcd-member.ts';

/**
 * Every etcd client a started cluster hands out, so that detaching or disposing the cluster
 * closes them all: an open gRPC channel keeps the process alive and keeps reconnecting to
 * containers that are gone.
 */
export class ClusterClients {
  private readonly open = new Set<Etcd3>();
  /** One per member, for status calls: polls every 20–50 ms must not open a channel each. */
  private readonly statusClients = new Map<string, Etcd3>();

  create(endpoints: readonly string[], options: ClientOptions = {}): Etcd3 {
    const client = createEtcdClient(endpoints, options);
    this.open.add(client);
    return client;
  }

  /**
   * The member's status client, made at its first use with that call's deadline as its dial
   * and call timeout (a paused or partitioned member must answer "not ok" quickly).
   */
  statusClient(member: EtcdMember, timeoutMs: number): Etcd3 {
    let client = this.statusClients.get(member.name);
    if (!client) {
      client = this.create([member.clientEndpoint], { callTimeoutMs: timeoutMs, dialTimeoutMs: timeoutMs });
      this.statusClients.set(member.name, client);
    }
    return client;
  }

  closeAll(): void {
    for (const client of this.open) client.close();
    this.open.clear();
    this.statusClients.clear();
  }
}
