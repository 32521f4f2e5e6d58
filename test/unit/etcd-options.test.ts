import { describe, expect, it } from 'vitest';
import {
  effectivePreVote,
  etcdMemberFlags,
  parseEtcdVersion,
  validateEtcdOptions,
  type MemberFlagInput,
} from '../../src/cluster/etcd-options.ts';
import { BadInputError } from '../../src/errors.ts';

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
