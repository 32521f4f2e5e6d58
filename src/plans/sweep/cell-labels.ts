/** Human-readable names of a sweep cell and its condition, for tables, charts and progress lines. */
import { ETCD_DEFAULTS, type EtcdOptions } from '../../cluster/etcd-options.ts';
import type { SweepCondition } from './conditions.ts';

export function cellLabel(options: EtcdOptions, condition: SweepCondition): string {
  const parts = [
    `hb ${options.heartbeatMs ?? ETCD_DEFAULTS.heartbeatMs}`,
    `et ${options.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs}`,
    ...(options.preVote === undefined ? [] : [`pre-vote ${options.preVote ? 'on' : 'off'}`]),
    ...otherOptionLabels(options),
    conditionLabel(condition),
  ];
  return parts.join(' / ');
}

/**
 * The options set beyond heartbeat, election timeout and pre-vote, one label each (none when
 * unset). Charts and summaries that group cells by their settings add these, so that cells a
 * sweep varies only in one of them (quota, lease checkpointing, …) are not merged into one series.
 */
export function otherOptionLabels(options: EtcdOptions): string[] {
  return [
    ...(options.snapshotCount === undefined ? [] : [`snap ${options.snapshotCount}`]),
    ...(options.quotaBackendBytes === undefined ? [] : [`quota ${options.quotaBackendBytes}`]),
    ...(options.leaseCheckpoint === undefined
      ? []
      : [`lease checkpoint ${options.leaseCheckpoint ? 'on' : 'off'}`]),
    ...(options.extraFlags?.length ? [options.extraFlags.join(' ')] : []),
  ];
}

export function conditionLabel(condition: SweepCondition): string {
  switch (condition.kind) {
    case 'none':
      return 'no condition';
    case 'rtt':
      return `rtt +${condition.rttMs} ms${condition.jitterMs > 0 ? ` ±${2 * condition.jitterMs}` : ''}`;
    case 'cpu':
      return `cpu ${condition.cpus}`;
  }
}
