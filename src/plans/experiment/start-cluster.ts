import { EtcdCluster } from '../../cluster/etcd-cluster.ts';
import { BadInputError } from '../../errors.ts';
import type { StartedEtcdCluster } from '../../cluster/started-etcd-cluster.ts';
import { progress } from '../../util/log.ts';
import { withoutUndefined } from '../../util/without-undefined.ts';
import type { RunOptions } from './experiment-types.ts';
import type { ExperimentSpec } from './spec.ts';

/** The experiment's cluster, as its spec describes it (the run's image override first). */
export function startCluster(spec: ExperimentSpec, options: RunOptions): Promise<StartedEtcdCluster> {
  const builder = new EtcdCluster()
    .withMembers(spec.cluster.members)
    .withEtcdOptions(withoutUndefined(spec.cluster.etcd))
    .withDataDir(spec.cluster.dataDir);
  if (options.image === undefined && Array.isArray(spec.etcd)) {
    // A list is a version matrix: runVersionMatrix runs the experiment once per entry.
    throw new BadInputError(
      `${spec.name}: etcd: a list of versions (${spec.etcd.join(', ')}) runs through runVersionMatrix or \`etcd-lab run\`, one run per version`,
    );
  }
  const image = options.image ?? (spec.etcd as string | undefined) ?? spec.cluster.image;
  if (image !== undefined) builder.withImage(image);
  progress(`${spec.name}: starting a ${spec.cluster.members}-member cluster`);
  return builder.start();
}
