import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import Docker from 'dockerode';
import { execa } from 'execa';
import { HostNotReadyError } from '../errors.ts';
import { sleep } from '../util/clock.ts';
import { progress } from '../util/log.ts';

let client: Docker | undefined;

/** The Docker API client the lab uses: members, networks, volumes, images, sweeps. */
export function docker(): Docker {
  client ??= new Docker();
  return client;
}

export async function dockerEngineResponds(): Promise<boolean> {
  try {
    await docker().ping();
    return true;
  } catch {
    return false;
  }
}

const isRoot = (): boolean => process.getuid?.() === 0;

async function onPath(command: string): Promise<boolean> {
  const result = await execa('sh', ['-c', `command -v ${command}`], { reject: false });
  return result.exitCode === 0;
}

export interface EnsureDockerOptions {
  /** Install docker.io from apt when dockerd is missing (root on Debian/Ubuntu only). Default true. */
  readonly install?: boolean;
  /** How long to wait for a freshly started dockerd to answer. Default 60 s. */
  readonly startTimeoutMs?: number;
}

export interface DockerEngineStatus {
  readonly action: 'already-running' | 'started' | 'installed-and-started';
  readonly serverVersion: string;
  readonly cgroupVersion: string;
  readonly cgroupDriver: string;
}

/**
 * Makes sure a Docker engine answers: uses a running one, starts an installed dockerd, or
 * (as root on Debian) installs docker.io first. Anything else is a clear error saying what
 * to do, raised before the lab starts anything.
 */
export async function ensureDockerEngine(options: EnsureDockerOptions = {}): Promise<DockerEngineStatus> {
  const { install = true, startTimeoutMs = 60_000 } = options;
  let action: DockerEngineStatus['action'] = 'already-running';

  if (!(await dockerEngineResponds())) {
    if (process.env.DOCKER_HOST) {
      throw new HostNotReadyError(
        `The Docker engine at DOCKER_HOST=${process.env.DOCKER_HOST} does not answer. Start it, or unset DOCKER_HOST to use a local engine.`,
      );
    }
    if (!(await onPath('dockerd'))) {
      const debian = existsSync('/etc/debian_version');
      if (!install || !isRoot() || !debian) {
        throw new HostNotReadyError(
          'No Docker engine answers and dockerd is not installed. ' +
            (debian
              ? 'Install it with: sudo apt-get install -y --no-install-recommends docker.io'
              : 'Install Docker Engine for your distribution') +
            ', start it, then run the lab again.',
        );
      }
      progress('Docker engine missing: installing docker.io from apt (one time)…');
      await aptInstall(['docker.io']);
      action = 'installed-and-started';
    } else {
      action = 'started';
    }
    if (!isRoot()) {
      throw new HostNotReadyError(
        'dockerd is installed but not running, and the lab is not root so it cannot start it. ' +
          'Start it (e.g. `sudo systemctl start docker` or `sudo dockerd &`), then run the lab again.',
      );
    }
    progress('starting dockerd…');
    startDockerDaemon();
    const deadline = Date.now() + startTimeoutMs;
    while (!(await dockerEngineResponds())) {
      if (Date.now() > deadline) {
        throw new HostNotReadyError(
          `dockerd was started but did not answer within ${startTimeoutMs / 1000} s; see ${DOCKERD_LOG}.`,
        );
      }
      await sleep(250);
    }
  }
  const info = (await docker().info()) as {
    ServerVersion: string;
    CgroupVersion?: string;
    CgroupDriver: string;
  };
  return {
    action,
    serverVersion: info.ServerVersion,
    cgroupVersion: info.CgroupVersion ?? '1',
    cgroupDriver: info.CgroupDriver,
  };
}

const DOCKERD_LOG = '/var/log/etcd-lab-dockerd.log';

function startDockerDaemon(): void {
  const log = openSync(DOCKERD_LOG, 'a');
  // Detached, so the engine outlives this run: the next run (and Ctrl-C cleanup) need it.
  const child = spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
}

/** apt-get install as root, with one `apt-get update` first when the package is unknown. */
export async function aptInstall(packages: readonly string[]): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    execa('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { env, reject: false });
  let result = await install();
  if (result.failed) {
    await execa('apt-get', ['update', '-q'], { env, reject: false });
    result = await install();
  }
  if (result.failed) {
    throw new HostNotReadyError(
      `apt-get install ${packages.join(' ')} failed (exit ${result.exitCode}): ${result.stderr.slice(-500)}`,
    );
  }
}
