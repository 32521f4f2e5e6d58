import type Dockerode from 'dockerode';
import { CLIENT_PORT, PEER_PORT } from './etcd-options.ts';

export type MemberState = 'running' | 'stopped' | 'paused' | 'signal-stopped' | 'removed';

/** A member, or its name ("m1"). */
export type MemberRef = EtcdMember | string;

/**
 * One etcd member as the lab sees it: how to reach it from the host and from its peers,
 * and where its container, process and network namespace are (what faults act on).
 */
export class EtcdMember {
  /** etcd's member ID as a decimal string, as the etcd3 client reports IDs. */
  memberId = '';
  state: MemberState = 'running';
  /** Address on the cluster network; refreshed after every start (Docker may hand out a new one). */
  ip = '';
  /** Host PID of the member's etcd process (0 while stopped); nsenter targets it. */
  pid = 0;

  constructor(
    /** Short member name, e.g. "m1" (etcd's --name). */
    readonly name: string,
    /** Container name; also the member's DNS name on the cluster network. */
    readonly containerName: string,
    /** Host port mapped to the member's client port (fixed for the member's lifetime). */
    readonly hostClientPort: number,
    readonly container: Dockerode.Container,
    /**
     * The host path of the file etcd also writes its log to (members with a memory data dir),
     * read without Docker in between; undefined when only Docker has the log.
     */
    readonly hostLogFile?: string | undefined,
  ) {}

  get containerId(): string {
    return this.container.id;
  }

  /** Client URL reachable from the host. */
  get clientEndpoint(): string {
    return `http://127.0.0.1:${this.hostClientPort}`;
  }

  /** Peer URL as the other members use it. */
  get peerUrl(): string {
    return `http://${this.containerName}:${PEER_PORT}`;
  }

  /** Client URL as the other containers on the cluster network use it. */
  get internalClientUrl(): string {
    return `http://${this.containerName}:${CLIENT_PORT}`;
  }

  /** etcd logs member IDs in hex; this is the same ID in that form. */
  get memberIdHex(): string {
    return this.memberId === '' ? '' : BigInt(this.memberId).toString(16);
  }

  get isUp(): boolean {
    return this.state === 'running';
  }

  async refreshRuntime(networkName: string): Promise<void> {
    const info = await this.container.inspect();
    this.pid = info.State.Pid;
    this.ip = info.NetworkSettings.Networks[networkName]?.IPAddress ?? '';
  }
}
