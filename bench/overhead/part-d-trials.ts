// Part d of the overhead benchmark: election trials per minute reusing one cluster vs a fresh
// cluster per trial.
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import { progress } from '../../src/util/log.ts';
import { summaryRow } from '../lib/bench-output.ts';
import { trialsReusingCluster, trialsWithFreshClusters } from '../lib/election-throughput.ts';
import type { OverheadRun } from './run-state.ts';

export async function partD(run: OverheadRun): Promise<void> {
  const timing = { heartbeatMs: 10, electionTimeoutMs: 100 };
  progress(
    `d: ${run.args.reuseTrials} kill trials on one cluster, then ${run.args.freshTrials} on fresh clusters (HB/ET 10/100)`,
  );
  let reuse;
  {
    await using cluster = await new EtcdCluster().withMembers(3).withEtcdOptions(timing).start();
    reuse = (
      await trialsReusingCluster(cluster, { trials: run.args.reuseTrials, fault: 'kill', clock: run.clock })
    ).rate;
  }
  const fresh = await trialsWithFreshClusters(timing, {
    trials: run.args.freshTrials,
    fault: 'kill',
    clock: run.clock,
  });
  console.log(
    `\nd. election trials/min (kill, HB/ET 10/100): reusing one cluster ${reuse.perMinute.toFixed(1)} ` +
      `(${reuse.trials} trials), fresh cluster per trial ${fresh.perMinute.toFixed(1)} (${fresh.trials}, start and dispose included)`,
  );
  run.rows.push(
    summaryRow('d', 'election trials/min: reuse vs fresh cluster', reuse.perMinute, fresh.perMinute),
  );
  run.figures.d = { timing, reuse, fresh };
}
