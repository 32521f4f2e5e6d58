import { execa, type ResultPromise } from 'execa';
import { existsSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCapabilities } from '../../src/cli/commands/doctor-capabilities.ts';
import { probeHostCapabilities, type HostCapabilities } from '../../src/faults/capabilities.ts';
import {
  buildNfqDelayHelper,
  NFQ_DELAY_BINARY_PREFIX,
  nfqDelayBinaryPath,
} from '../../src/faults/network/nfq-delay-build.ts';
import { PROBE_NETNS_PREFIX } from '../../src/faults/probes/probe.ts';
import { chooseDelayMechanism } from '../../src/faults/network/delay.ts';
import { chooseLossMechanism } from '../../src/faults/network/loss.ts';
import { processStartTime } from '../../src/host/run-labels.ts';

// Host tests: they run the real probes and real network namespaces on this machine (root needed), and
// check the probe's answers against commands run independently here.

const pid = process.pid;
const createdNamespaces = new Set<string>();
const spawnOptions = { reject: false, stdin: 'ignore' } as const;
type Child = ResultPromise<typeof spawnOptions>;
const children = new Set<Child>();

async function sh(
  command: string,
  args: readonly string[],
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const r = await execa(command, args, { reject: false, timeout: 15_000, stdin: 'ignore' });
  return { ok: !r.failed, stdout: String(r.stdout), stderr: String(r.stderr) };
}

async function mustSh(command: string, args: readonly string[]): Promise<string> {
  const r = await sh(command, args);
  if (!r.ok) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function addNamespace(name: string): Promise<void> {
  await sh('ip', ['netns', 'del', name]);
  await mustSh('ip', ['netns', 'add', name]);
  createdNamespaces.add(name);
  await mustSh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

async function deleteNamespace(name: string): Promise<void> {
  await sh('ip', ['netns', 'del', name]);
  createdNamespaces.delete(name);
}

async function netnsNames(): Promise<string[]> {
  return (await mustSh('ip', ['netns', 'list']))
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

function inNs(
  ns: string,
  command: string,
  args: readonly string[],
): Promise<{ ok: boolean; stderr: string }> {
  return sh('ip', ['netns', 'exec', ns, command, ...args]);
}

function pidAlive(p: number): boolean {
  try {
    process.kill(p, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Starts a long-running process in a namespace and resolves once a stdout line matches. The child is
 * wrapped because an async function returning the (thenable) subprocess would wait for it to exit.
 */
async function startInNs(
  ns: string,
  command: string,
  args: readonly string[],
  ready: RegExp,
): Promise<{ readonly child: Child }> {
  const child = execa('ip', ['netns', 'exec', ns, command, ...args], spawnOptions);
  children.add(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${command}: no line matching ${String(ready)} in 5 s: ${out}`)),
      5000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}) before ready: ${out}`));
    });
  });
  return { child };
}

async function stop({
  child,
}: {
  readonly child: Child;
}): Promise<{ exitCode: number | undefined; stderr: string }> {
  child.kill('SIGTERM');
  const r = await child;
  children.delete(child);
  return { exitCode: r.exitCode, stderr: String(r.stderr) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Probe the qdisc / iptables command the way an operator would, in a namespace of the test's own. */
async function directlyWorks(ns: string, command: string, args: readonly string[]): Promise<boolean> {
  return (await inNs(ns, command, args)).ok;
}

// statfs(2) magic numbers (linux/magic.h). runc picks cgroup v2 exactly when /sys/fs/cgroup is cgroup2fs.
const CGROUP2_SUPER_MAGIC = 0x63677270;
const CGROUP_SUPER_MAGIC = 0x27e0eb;
const TMPFS_MAGIC = 0x01021994;

/** The cgroup version from filesystem types alone (statfs), not from the /proc/mounts parsing the lab does. */
function cgroupVersionByStatfs(): 1 | 2 | null {
  const root = '/sys/fs/cgroup';
  const type = (p: string): number | undefined => {
    try {
      return Number(statfsSync(p).type);
    } catch {
      return undefined;
    }
  };
  const rootType = type(root);
  if (rootType === CGROUP2_SUPER_MAGIC) return 2;
  // v1 (or "hybrid", which container runtimes treat as v1): a tmpfs holding one v1 hierarchy per controller.
  if (
    rootType === TMPFS_MAGIC &&
    readdirSync(root).some((d) => type(path.join(root, d)) === CGROUP_SUPER_MAGIC)
  )
    return 1;
  return null;
}

/**
 * What this host offers, found without the lab's probe: `tc qdisc add … netem` run in a scratch namespace of
 * the test's own, and the cgroup version from statfs. Found before the tests are collected, so a test of a
 * branch this host cannot take is skipped under a name that says so, instead of passing without asserting.
 */
async function independentHostFacts(): Promise<{
  readonly netem: boolean;
  readonly cgroupVersion: 1 | 2 | null;
}> {
  const ns = `etcdlab-t${pid}-n`;
  await addNamespace(ns);
  try {
    // A veth pair, not dummy: this kernel has no dummy driver.
    await mustSh('ip', ['-n', ns, 'link', 'add', 'tnet0', 'type', 'veth', 'peer', 'name', 'tnet1']);
    await mustSh('ip', ['-n', ns, 'link', 'set', 'tnet0', 'up']);
    const netem = await directlyWorks(ns, 'tc', [
      'qdisc',
      'add',
      'dev',
      'tnet0',
      'root',
      'netem',
      'delay',
      '1ms',
    ]);
    return { netem, cgroupVersion: cgroupVersionByStatfs() };
  } finally {
    await deleteNamespace(ns);
  }
}

const host = await independentHostFacts();

function v1ControllerMount(controller: string): string | undefined {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mp, fs, opts] = line.split(' ');
    if (fs === 'cgroup' && mp !== undefined && opts?.split(',').includes(controller)) return mp;
  }
  return undefined;
}

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.allSettled([...children]);
  for (const ns of [...createdNamespaces]) await deleteNamespace(ns);
  const left = (await netnsNames()).filter((n) => n.includes(`t${pid}-`));
  expect(left).toEqual([]);
});

describe('probeHostCapabilities on this host', () => {
  let caps: HostCapabilities;
  const scratch = `etcdlab-t${pid}-x`;

  beforeAll(async () => {
    caps = await probeHostCapabilities();
    await addNamespace(scratch);
    // A veth pair, not dummy: this kernel has no dummy driver.
    await mustSh('ip', ['-n', scratch, 'link', 'add', 'tdum0', 'type', 'veth', 'peer', 'name', 'tdum1']);
    await mustSh('ip', ['-n', scratch, 'link', 'set', 'tdum0', 'up']);
  }, 30_000);

  afterAll(async () => {
    await deleteNamespace(scratch);
  });

  it('is memoized per process, and a fresh probe agrees', async () => {
    expect(await probeHostCapabilities()).toBe(caps);
    const fresh = await probeHostCapabilities({ fresh: true });
    expect(fresh).not.toBe(caps);
    const availability = (c: HostCapabilities): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries(c).map(([k, v]) => [
          k,
          typeof v === 'object' && v !== null ? (v as { available: boolean }).available : v,
        ]),
      );
    expect(availability(fresh)).toEqual(availability(caps));
  });

  it('reports root as this process really is', () => {
    expect(caps.root).toBe(process.getuid?.() === 0);
    expect(caps.root).toBe(true);
  });

  it('reports tc netem as `tc qdisc add … netem` in a namespace of the test’s own answers, and delay and loss faults follow it', () => {
    expect(caps.tcNetem.available).toBe(host.netem);
    expect(caps.tcNetem.detail).toMatch(/tc qdisc add dev \S+ root netem delay 1ms/);
    // Which mechanism a fault takes on this host is the point of the probe.
    expect(chooseDelayMechanism(caps, false).mechanism).toBe(host.netem ? 'tc-netem' : 'nfq-delay-ingress');
    expect(chooseLossMechanism(caps, false).mechanism).toBe(
      host.netem ? 'tc-netem' : 'iptables-statistic-ingress',
    );
  });

  it.skipIf(host.netem)(
    'without netem: says the kernel lacks sch_netem and names the nfq-delay fallback [runs only where `tc qdisc add … netem` fails]',
    () => {
      expect(caps.tcNetem.available).toBe(false);
      expect(caps.tcNetem.detail).toMatch(/netem delay 1ms failed in a scratch namespace: /);
      expect(caps.tcNetem.detail).toMatch(/lacks sch_netem/);
      expect(caps.tcNetem.detail).toMatch(/nfq-delay/);
      // The fallback must then really be there, or delay faults could not run at all.
      expect(chooseDelayMechanism(caps, false)).toMatchObject({
        available: true,
        mechanism: 'nfq-delay-ingress',
      });
    },
  );

  it.runIf(host.netem)(
    'with netem: says the netem qdisc works where it was tried [runs only where `tc qdisc add … netem` works]',
    () => {
      expect(caps.tcNetem.available).toBe(true);
      expect(caps.tcNetem.detail).toMatch(
        /netem delay 1ms works \(tried on a (dummy|veth) in a scratch namespace\)/,
      );
      expect(chooseDelayMechanism(caps, false)).toMatchObject({ available: true, mechanism: 'tc-netem' });
    },
  );

  it('reports tbf and htb as available, agreeing with tc run here', async () => {
    const tbf = await directlyWorks(scratch, 'tc', [
      'qdisc', 'add', 'dev', 'tdum0', 'root', 'tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms',
    ]); // prettier-ignore
    await inNs(scratch, 'tc', ['qdisc', 'del', 'dev', 'tdum0', 'root']);
    const htb = await directlyWorks(scratch, 'tc', [
      'qdisc',
      'add',
      'dev',
      'tdum0',
      'root',
      'handle',
      '1:',
      'htb',
    ]);
    await inNs(scratch, 'tc', ['qdisc', 'del', 'dev', 'tdum0', 'root']);
    expect([caps.tcTbf.available, caps.tcHtb.available]).toEqual([tbf, htb]);
    expect(caps.tcTbf.available).toBe(true);
  });

  it('reports iptables, the statistic match and NFQUEUE as available, agreeing with iptables run here', async () => {
    const statistic = await directlyWorks(scratch, 'iptables', [
      '-A', 'OUTPUT', '-m', 'statistic', '--mode', 'random', '--probability', '0.5', '-j', 'ACCEPT',
    ]); // prettier-ignore
    const nfqueue = await directlyWorks(scratch, 'iptables', [
      '-A', 'OUTPUT', '-j', 'NFQUEUE', '--queue-num', '1', '--queue-bypass',
    ]); // prettier-ignore
    await inNs(scratch, 'iptables', ['-F', 'OUTPUT']);
    expect([caps.iptablesStatistic.available, caps.nfqueue.available]).toEqual([statistic, nfqueue]);
    expect(caps.iptables.available).toBe(true);
    expect(caps.iptablesStatistic.available).toBe(true);
    expect(caps.nfqueue.available).toBe(true);
  });

  it('reports nsenter and the nfq-delay helper as usable', () => {
    expect(caps.nsenter).toMatchObject({ available: true });
    expect(caps.nfqDelayHelper).toMatchObject({ available: true });
  });

  it('reports the cgroup version statfs shows (cgroup2fs at /sys/fs/cgroup: v2; v1 hierarchies under a tmpfs: v1)', () => {
    expect(host.cgroupVersion).not.toBeNull();
    expect(caps.cgroupVersion).toBe(host.cgroupVersion);
    expect(formatCapabilities(caps)).toContainEqual(
      expect.stringMatching(new RegExp(`^✓ cgroup version +v${host.cgroupVersion}$`)),
    );
  });

  it.runIf(host.cgroupVersion === 1)(
    'cgroup v1: cpu quota, blkio throttle and freezer as the mounted v1 hierarchies offer them [runs only on cgroup v1 hosts]',
    () => {
      const cpu = v1ControllerMount('cpu');
      const blkio = v1ControllerMount('blkio');
      const freezer = v1ControllerMount('freezer');
      expect(caps.cpuQuota.available).toBe(cpu !== undefined && existsSync(`${cpu}/cpu.cfs_quota_us`));
      expect(caps.blkioThrottle.available).toBe(
        blkio !== undefined && existsSync(`${blkio}/blkio.throttle.write_bps_device`),
      );
      expect(caps.cgroupFreezer.available).toBe(freezer !== undefined);
      // As root the probe proves the freezer in a child cgroup of its own, and removes that child again.
      expect(caps.cgroupFreezer.detail).toMatch(
        freezer === undefined ? /no freezer hierarchy mounted/ : /child cgroup has freezer\.state/,
      );
      expect(freezer !== undefined && existsSync(`${freezer}/${PROBE_NETNS_PREFIX}${pid}`)).toBe(false);
    },
  );

  it.runIf(host.cgroupVersion === 2)(
    'cgroup v2: cpu quota and io throttle as cgroup.controllers lists them, freezer from Linux 5.2 [runs only on cgroup v2 hosts]',
    () => {
      const controllers = readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim().split(/\s+/);
      expect(caps.cpuQuota.available).toBe(controllers.includes('cpu'));
      expect(caps.blkioThrottle.available).toBe(controllers.includes('io'));
      // cgroup.freeze exists in every non-root cgroup since Linux 5.2.
      const [major = 0, minor = 0] = os
        .release()
        .split('.')
        .map((n) => parseInt(n, 10));
      expect(caps.cgroupFreezer.available).toBe(major > 5 || (major === 5 && minor >= 2));
    },
  );

  it('leaves no probe namespace behind', async () => {
    await probeHostCapabilities({ fresh: true });
    const probeNamespaces = (await netnsNames()).filter((n) => n.startsWith(PROBE_NETNS_PREFIX));
    expect(probeNamespaces).not.toContain(`${PROBE_NETNS_PREFIX}${pid}`);
    // Any other probe namespace must belong to a probe still running in another process.
    for (const n of probeNamespaces) expect(pidAlive(Number(n.slice(PROBE_NETNS_PREFIX.length)))).toBe(true);
  });

  it('formats one ✓/✗ line per capability for doctor', () => {
    const lines = formatCapabilities(caps);
    const text = lines.join('\n');
    for (const name of [
      'tc netem',
      'tc tbf',
      'tc htb',
      'iptables statistic',
      'NFQUEUE',
      'nfq-delay helper',
      'nsenter',
    ]) {
      expect(text).toContain(name);
    }
    expect(lines.find((l) => l.includes('tc netem'))?.startsWith(host.netem ? '✓' : '✗')).toBe(true);
    expect(lines.find((l) => l.includes('tc tbf'))?.startsWith('✓')).toBe(true);
    expect(lines.every((l) => /^[✓✗–] /.test(l))).toBe(true);
  });
});

describe('nfq-delay helper, for real between two namespaces', () => {
  const nsA = `etcdlab-t${pid}-a`;
  const nsB = `etcdlab-t${pid}-b`;
  const ipA = '10.213.0.1';
  const ipB = '10.213.0.2';
  const port = 9_917;
  const queue = 7;
  let helper: string;

  // UDP echo/ping written for node so the test needs no iputils-ping; the iptables rule matches all IP
  // traffic to B, so UDP is delayed exactly like ICMP.
  const echoServer = `const s=require('node:dgram').createSocket('udp4');
s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(${port},'${ipB}',()=>console.log('listening'));`;
  const pinger = `const s=require('node:dgram').createSocket('udp4');const [count,gap]=process.argv.slice(1).map(Number);
const rtts=[];let waiting=null;
s.on('message',(m)=>{if(waiting&&m.readUInt32BE(0)===waiting.id)waiting.done(Number(process.hrtime.bigint()-waiting.t0)/1e6);});
const one=(id)=>new Promise((res)=>{const b=Buffer.alloc(32);b.writeUInt32BE(id);
const t=setTimeout(()=>{waiting=null;res(null);},2000);
waiting={id,t0:process.hrtime.bigint(),done:(v)=>{clearTimeout(t);waiting=null;res(v);}};s.send(b,${port},'${ipB}');});
(async()=>{for(let i=0;i<count;i++){const r=await one(i);if(r!==null)rtts.push(r);await new Promise((r)=>setTimeout(r,gap));}
console.log(JSON.stringify(rtts));s.close();})();`;

  async function pingRtts(count: number, gapMs = 5): Promise<number[]> {
    const out = await mustSh('ip', [
      'netns',
      'exec',
      nsA,
      process.execPath,
      '-e',
      pinger,
      String(count),
      String(gapMs),
    ]);
    const rtts = JSON.parse(out) as number[];
    expect(rtts.length).toBe(count);
    return rtts;
  }

  function startDelayer(ns: string, args: readonly string[]): Promise<{ readonly child: Child }> {
    return startInNs(ns, helper, ['--queue', String(queue), ...args], /^nfq-delay ready queue=\d+/m);
  }

  beforeAll(async () => {
    helper = await buildNfqDelayHelper();
    await addNamespace(nsA);
    await addNamespace(nsB);
    const [vethA, vethB] = [`etl${pid}a`, `etl${pid}b`];
    await mustSh('ip', [
      '-n',
      nsA,
      'link',
      'add',
      vethA,
      'type',
      'veth',
      'peer',
      'name',
      vethB,
      'netns',
      nsB,
    ]);
    await mustSh('ip', ['-n', nsA, 'addr', 'add', `${ipA}/24`, 'dev', vethA]);
    await mustSh('ip', ['-n', nsB, 'addr', 'add', `${ipB}/24`, 'dev', vethB]);
    await mustSh('ip', ['-n', nsA, 'link', 'set', vethA, 'up']);
    await mustSh('ip', ['-n', nsB, 'link', 'set', vethB, 'up']);
    await startInNs(nsB, process.execPath, ['-e', echoServer], /listening/);
  }, 30_000);

  afterAll(async () => {
    await deleteNamespace(nsA);
    await deleteNamespace(nsB);
  });

  it('is built into .lab/bin under a hash of its source, rebuilt when missing, and rejects bad usage', async () => {
    // The name carries the source's hash: a binary built from another version of the source (say,
    // one without --parent-pid) is never mistaken for this one, whatever the files' times say.
    expect(helper).toBe(await nfqDelayBinaryPath());
    expect(helper).toMatch(/\.lab\/bin\/nfq-delay-[0-9a-f]{12}$/);
    const legacy = NFQ_DELAY_BINARY_PREFIX; // the unhashed name earlier versions used
    writeFileSync(legacy, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    rmSync(helper);
    expect(await buildNfqDelayHelper()).toBe(helper);
    expect(existsSync(helper)).toBe(true);
    expect(existsSync(legacy)).toBe(false);
    expect(path.dirname(helper)).toBe(path.dirname(legacy));
    const usage = await execa(helper, [], { reject: false });
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toMatch(/--queue and --delay-ms are required/);
  });

  it('delays one direction by the configured 40 ms, widens spread with jitter, and fails open when stopped', async () => {
    await pingRtts(3); // ARP and JIT warm-up
    const baseline = await pingRtts(15);

    await mustSh('ip', [
      'netns', 'exec', nsA, 'iptables', '-A', 'OUTPUT', '-d', ipB, '-j', 'NFQUEUE',
      '--queue-num', String(queue), '--queue-bypass',
    ]); // prettier-ignore
    const delayer = await startDelayer(nsA, ['--delay-ms', '40']);
    const delayed = await pingRtts(15);
    const stopped = await stop(delayer);
    expect(stopped.exitCode).toBe(0);
    expect(stopped.stderr).toMatch(/held_total=\d+ verdict_errors=0/);

    const rise = median(delayed) - median(baseline);
    expect(rise).toBeGreaterThanOrEqual(35);
    expect(rise).toBeLessThanOrEqual(60);
    expect(Math.min(...delayed)).toBeGreaterThanOrEqual(40);

    // Rule still in place, helper gone: --queue-bypass lets traffic through undelayed.
    const bypassed = await pingRtts(10);
    expect(median(bypassed)).toBeLessThan(median(baseline) + 5);

    const jittery = await startDelayer(nsA, ['--delay-ms', '40', '--jitter-ms', '15', '--seed', '42']);
    const jittered = await pingRtts(30);
    await stop(jittery);
    // A busy CPU only ever adds to a round trip, so the robust signs of jitter are on the low side:
    // without it no packet came back sooner than 40 ms; with ±15 ms about half do, none before 25 ms.
    const soonerThanDelay = (xs: readonly number[]): number => xs.filter((x) => x < 40).length / xs.length;
    expect(soonerThanDelay(jittered)).toBeGreaterThanOrEqual(0.25);
    expect(Math.min(...jittered)).toBeGreaterThanOrEqual(25 - 1);
    expect(Math.abs(median(jittered) - median(baseline) - 40)).toBeLessThan(10);
    // Nor much later than 40 + 15 ms: at most a quarter of them, the ones a busy CPU held up.
    expect(jittered.filter((x) => x > 55 + 5).length / jittered.length).toBeLessThanOrEqual(0.25);

    await mustSh('ip', ['netns', 'exec', nsA, 'iptables', '-F', 'OUTPUT']);
  }, 20_000);

  it('with --parent-pid, refuses to start under another parent and exits when its parent is SIGKILLed', async () => {
    const wrongParent = await execa(
      helper,
      ['--queue', String(queue), '--delay-ms', '1', '--parent-pid', String(2 ** 31 - 1)],
      {
        reject: false,
      },
    );
    expect(wrongParent.exitCode).toBe(1);
    expect(wrongParent.stderr).toMatch(new RegExp(`parent is pid ${process.pid}, not ${2 ** 31 - 1}`));

    // A shell in namespace A starts the helper with itself as the parent, then is killed outright.
    const shell = execa(
      'ip',
      [
        'netns',
        'exec',
        nsA,
        'sh',
        '-c',
        `${helper} --queue ${queue} --delay-ms 1 --parent-pid $$ & echo $!; wait`,
      ],
      { reject: false, buffer: false, stdin: 'ignore' },
    );
    const helperPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      shell.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const pidLine = /^(\d+)$/m.exec(out);
        if (pidLine?.[1] && /^nfq-delay ready /m.test(out)) resolve(Number(pidLine[1]));
      });
      void shell.then(() => reject(new Error(`shell exited first: ${out}`)));
    });
    expect(running(helperPid)).toBe(true);
    shell.kill('SIGKILL');
    await shell;
    const deadline = Date.now() + 3_000;
    while (running(helperPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(running(helperPid)).toBe(false);
  }, 15_000);

  it('with --watch-pid (through sudo, where the lab is not the parent), refuses a gone process and exits when the watched one dies', async () => {
    const watched = execa('sleep', ['60'], { reject: false });
    const watchedPid = watched.pid ?? 0;
    const start = processStartTime(watchedPid) ?? '';
    // Same pid, another start time: a reused pid is not the lab.
    const reused = await execa(
      helper,
      [
        '--queue',
        String(queue),
        '--delay-ms',
        '1',
        '--watch-pid',
        String(watchedPid),
        '--watch-start',
        `${start}1`,
      ],
      { reject: false },
    );
    expect(reused.exitCode).toBe(1);
    expect(reused.stderr).toMatch(new RegExp(`process ${watchedPid} \\(start ${start}1\\) is not running`));

    // The watcher's parent is `ip netns exec`'s process (this test's child), not the watched one.
    const watcher = execa(
      'ip',
      ['netns', 'exec', nsA, helper, '--queue', String(queue), '--delay-ms', '1',
        '--watch-pid', String(watchedPid), '--watch-start', start],
      { reject: false, buffer: false, stdin: 'ignore' },
    ); // prettier-ignore
    const readyPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      watcher.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const ready = /^nfq-delay ready .* pid=(\d+)$/m.exec(out);
        if (ready?.[1]) resolve(Number(ready[1]));
      });
      void watcher.then(() => reject(new Error(`helper exited first: ${out}`)));
    });
    expect(readyPid).toBe(watcher.pid); // the pid it prints is its own (ip netns exec execs it)
    watched.kill('SIGKILL');
    await watched;
    const result = await watcher;
    expect(result.exitCode).toBe(0);
  }, 15_000);

  it('delays on ingress too (receiver PREROUTING), the placement that keeps sender socket buffers free', async () => {
    const baseline = await pingRtts(10);
    await mustSh('ip', [
      'netns', 'exec', nsB, 'iptables', '-t', 'mangle', '-A', 'PREROUTING', '-s', ipA, '-j', 'NFQUEUE',
      '--queue-num', String(queue), '--queue-bypass',
    ]); // prettier-ignore
    const delayer = await startDelayer(nsB, ['--delay-ms', '40']);
    const delayed = await pingRtts(10);
    expect((await stop(delayer)).exitCode).toBe(0);
    await mustSh('ip', ['netns', 'exec', nsB, 'iptables', '-t', 'mangle', '-F', 'PREROUTING']);
    const rise = median(delayed) - median(baseline);
    expect(rise).toBeGreaterThanOrEqual(35);
    expect(rise).toBeLessThanOrEqual(60);
  }, 15_000);
});

/** The process exists and is not a zombie (a dead helper waits as one until init reaps it). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}
