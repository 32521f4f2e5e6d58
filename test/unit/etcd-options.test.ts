import { describe, expect, it } from 'vitest';
import {
  ETCD_DEFAULTS,
  effectivePreVote,
  etcdMemberFlags,
  parseEtcdOptions,
  parseEtcdVersion,
  resolveEtcdOptions,
  validateEtcdOptions,
  type MemberFlagInput,
} from '../../src/cluster/etcd-options.ts';
import { BadInputError } from '../../src/errors.ts';
import { validateExperiment } from '../../src/plans/experiment/spec.ts';
import { validateSweep } from '../../src/plans/sweep/spec.ts';

const member: MemberFlagInput = {
  name: 'm1',
  host: 'etcd-lab-x-m1',
  dataDir: '/var/lib/etcd/data',
  initialCluster: 'm1=http://etcd-lab-x-m1:2380',
  initialClusterState: 'new',
  clusterToken: 'etcd-lab-x',
};

const flag = (flags: string[], name: string) => flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1];

describe('etcd member flags', () => {
  it('passes timing and identity to etcd', () => {
    const flags = etcdMemberFlags(
      member,
      { heartbeatMs: 10, electionTimeoutMs: 100, snapshotCount: 500 },
      [3, 5, 21],
    );
    expect(flag(flags, 'heartbeat-interval')).toBe('10');
    expect(flag(flags, 'election-timeout')).toBe('100');
    expect(flag(flags, 'snapshot-count')).toBe('500');
    expect(flag(flags, 'name')).toBe('m1');
    expect(flag(flags, 'initial-advertise-peer-urls')).toBe('http://etcd-lab-x-m1:2380');
    expect(flag(flags, 'initial-cluster-state')).toBe('new');
  });

  it('asks 3.4 for JSON logs (its default is capnslog) but not 3.5+', () => {
    expect(etcdMemberFlags(member, {}, [3, 4, 23])).toContain('--logger=zap');
    expect(etcdMemberFlags(member, {}, [3, 5, 0])).not.toContain('--logger=zap');
    expect(etcdMemberFlags(member, {}, [3, 6, 1])).toContain('--log-outputs=stderr');
  });

  it('writes the log to a file as well as stderr when the member has one', () => {
    const flags = etcdMemberFlags({ ...member, logFile: '/var/lib/etcd/etcd.log' }, {}, [3, 4, 23]);
    expect(flags).toContain('--log-outputs=stderr,/var/lib/etcd/etcd.log');
  });

  it('leaves pre-vote to the version default unless set, and knows that default', () => {
    expect(etcdMemberFlags(member, {}, [3, 4, 23]).some((f) => f.startsWith('--pre-vote'))).toBe(false);
    expect(etcdMemberFlags(member, { preVote: true }, [3, 4, 23])).toContain('--pre-vote=true');
    expect(etcdMemberFlags(member, { preVote: false }, [3, 5, 0])).toContain('--pre-vote=false');
    expect(effectivePreVote({}, [3, 4, 23])).toBe(false);
    expect(effectivePreVote({}, [3, 5, 0])).toBe(true);
    expect(effectivePreVote({ preVote: false }, [3, 6, 0])).toBe(false);
  });

  it('names lease checkpointing the way each version does', () => {
    expect(etcdMemberFlags(member, { leaseCheckpoint: true }, [3, 4, 23])).toContain(
      '--experimental-enable-lease-checkpoint=true',
    );
    expect(etcdMemberFlags(member, { leaseCheckpoint: true }, [3, 6, 0])).toContain(
      '--feature-gates=LeaseCheckpoint=true',
    );
  });

  it('appends extra flags verbatim, last so they win', () => {
    const flags = etcdMemberFlags(member, { extraFlags: ['--max-txn-ops=256'] }, [3, 4, 23]);
    expect(flags.at(-1)).toBe('--max-txn-ops=256');
  });

  it('refuses etcd older than 3.4', () => {
    expect(() => etcdMemberFlags(member, {}, [3, 3, 27])).toThrow(BadInputError);
  });
});

describe('etcd option validation', () => {
  it.each([
    [{ heartbeatMs: 0 }, /heartbeatMs must be a positive integer/],
    [{ electionTimeoutMs: -5 }, /electionTimeoutMs must be a positive integer/],
    [{ heartbeatMs: 100, electionTimeoutMs: 499 }, /at least 5 × heartbeatMs \(100\) = 500/],
    [{ electionTimeoutMs: 60_000 }, /at most 50000/],
    [{ snapshotCount: 1.5 }, /snapshotCount must be a positive integer/],
    [{ extraFlags: ['no-dashes'] }, /must look like --name or --name=value/],
  ])('rejects %j', (options, message) => {
    expect(() => validateEtcdOptions(options)).toThrow(message);
  });

  it('accepts etcd’s defaults and scaled-down timing', () => {
    expect(() => validateEtcdOptions({})).not.toThrow();
    expect(() => validateEtcdOptions({ heartbeatMs: 10, electionTimeoutMs: 50 })).not.toThrow();
  });

  it('parses the versions images report', () => {
    expect(parseEtcdVersion('3.4.23')).toEqual([3, 4, 23]);
    expect(parseEtcdVersion('v3.5.21')).toEqual([3, 5, 21]);
    expect(parseEtcdVersion('3.6.0-rc.1')).toEqual([3, 6, 0]);
    expect(() => parseEtcdVersion('latest')).toThrow(BadInputError);
  });
});

describe('one etcd options schema', () => {
  it('resolves unset timing to etcd’s defaults, and leaves version-dependent options unset', () => {
    expect(ETCD_DEFAULTS).toMatchObject({
      heartbeatMs: 100,
      electionTimeoutMs: 1000,
      leaseCheckpoint: false,
    });
    expect(resolveEtcdOptions({})).toEqual({
      heartbeatMs: 100,
      electionTimeoutMs: 1000,
      leaseCheckpoint: false,
      extraFlags: [],
    });
    expect(resolveEtcdOptions({ heartbeatMs: 10, electionTimeoutMs: 100, preVote: true })).toMatchObject({
      heartbeatMs: 10,
      electionTimeoutMs: 100,
      preVote: true,
    });
    expect(etcdMemberFlags(member, {}, [3, 5, 0])).toContain('--election-timeout=1000');
  });

  it('lists every problem, and an unknown option', () => {
    const result = parseEtcdOptions({ heartbeatMs: 0, snapshotCount: 2.5, heartbeat: 10 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      'etcd option heartbeatMs must be a positive integer, got 0',
      'etcd option snapshotCount must be a positive integer, got 2.5',
      'Unrecognized key: "heartbeat"',
    ]);
  });

  const experiment = (etcd: unknown) => ({
    name: 'x',
    title: 'x',
    cluster: { etcd },
    workload: { mode: 'closed-loop', durationMs: 1_000 },
    method: [{ fault: 'kill', target: 'leader', at: 100 }],
    hypothesis: {},
  });

  it('experiments accept every option etcd clusters take, quota and lease checkpointing included', () => {
    const etcd = {
      heartbeatMs: 50,
      electionTimeoutMs: 500,
      quotaBackendBytes: 1 << 30,
      leaseCheckpoint: true,
    };
    expect(validateExperiment(experiment(etcd)).cluster.etcd).toEqual(etcd);
  });

  it('experiments refuse an election timeout etcd would refuse before anything starts', () => {
    expect(() => validateExperiment(experiment({ heartbeatMs: 100, electionTimeoutMs: 300 }))).toThrow(
      /cluster\.etcd: electionTimeoutMs \(300\) must be at least 5 × heartbeatMs \(100\) = 500/,
    );
    expect(() => validateExperiment(experiment({ extraFlags: ['max-txn-ops'] }))).toThrow(
      /cluster\.etcd\.extraFlags\.0: extra etcd flag "max-txn-ops" must look like --name or --name=value/,
    );
  });

  it('sweeps take lease checkpointing as an option and as a matrix dimension', () => {
    const sweep = (patch: object) => ({
      name: 's',
      title: 's',
      fault: { kind: 'leader-kill' },
      ...patch,
    });
    expect(validateSweep(sweep({ configurations: [{ leaseCheckpoint: true }] })).configurations).toEqual([
      { leaseCheckpoint: true },
    ]);
    expect(validateSweep(sweep({ matrix: { leaseCheckpoint: [false, true] } })).matrix).toEqual({
      leaseCheckpoint: [false, true],
    });
  });
});
