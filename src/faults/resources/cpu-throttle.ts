import os from 'node:os';
import type { HostCapabilities } from '../capabilities.ts';
import {
  applyFault,
  capabilitiesOf,
  faultId,
  requireAvailable,
  requireNumber,
  type Fault,
  type FaultCheck,
  type FaultContext,
  type FaultDescription,
  type FaultHandle,
} from '../fault.ts';
import { clusterView, membersByName, resolveTargetNames, seededRandom, type TargetSpec } from '../targets.ts';

export interface CpuThrottleOptions {
  readonly target: TargetSpec;
  /** CPU time allowed, in CPUs: 0.05 = 5 % of one CPU (like `docker update --cpus 0.05`). */
  readonly cpus: number;
}

export const CFS_PERIOD_US = 100_000;
/** The kernel refuses a CFS quota under 1 ms. */
export const MIN_CPUS = 0.01;

export class CpuThrottleFault implements Fault {
  readonly name = 'cpu-throttle';

  constructor(readonly options: CpuThrottleOptions) {
    requireNumber('cpus', options.cpus, MIN_CPUS, os.availableParallelism());
  }

  describe(): FaultDescription {
    return { fault: this.name, ...this.options };
  }

  check(caps: HostCapabilities): FaultCheck {
    if (!caps.cpuQuota.available) {
      return { available: false, mechanism: null, detail: `cpu quota: ${caps.cpuQuota.detail}` };
    }
    const mechanism = caps.cgroupVersion === 2 ? 'cgroup-v2-cpu-max' : 'cgroup-v1-cfs-quota';
    return {
      available: true,
      mechanism,
      detail: `docker update of CpuQuota/CpuPeriod (${caps.cpuQuota.detail})`,
    };
  }

  async inject(ctx: FaultContext): Promise<FaultHandle> {
    const view = await clusterView(ctx, [this.options.target]);
    const targets = resolveTargetNames(this.options.target, view, seededRandom(ctx.seed ?? 1));
    const members = membersByName(ctx, targets);
    const mechanism = requireAvailable(this, await capabilitiesOf(ctx));
    const quotaUs = Math.round(this.options.cpus * CFS_PERIOD_US);
    return applyFault(ctx, this.describe(), {
      mechanism,
      targets,
      faultId: faultId('cpu-throttle', targets.join('+')),
      apply: async (undo, details) => {
        details.cpuQuotaUs = quotaUs;
        details.cpuPeriodUs = CFS_PERIOD_US;
        for (const member of members) {
          const before = (await member.container.inspect()).HostConfig;
          const quotaBefore = before.CpuQuota ?? 0;
          const periodBefore = before.CpuPeriod ?? 0;
          undo.push(`restore CPU quota of ${member.name}`, async () => {
            if (member.state === 'removed') return;
            // -1 removes the limit (0 means "unchanged" to docker 20.10 and leaves the quota in place).
            await member.container.update({
              CpuQuota: quotaBefore > 0 ? quotaBefore : -1,
              ...(periodBefore > 0 ? { CpuPeriod: periodBefore } : {}),
            });
          });
          await member.container.update({ CpuPeriod: CFS_PERIOD_US, CpuQuota: quotaUs });
        }
      },
    });
  }
}
