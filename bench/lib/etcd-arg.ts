import { etcdRequestProblem } from '../../src/host/etcd-choice.ts';

/**
 * `npm run bench -- <name> --etcd 3.5.30 [args]`: takes `--etcd <version|image>` (or
 * `--etcd=<…>`) out of a benchmark's arguments, wherever it stands. The benchmark then runs
 * with ETCD_IMAGE set to it: every cluster it starts (and every CLI it spawns) uses that etcd,
 * with no change to each benchmark's own positional arguments.
 */
export function takeEtcdArg(
  args: readonly string[],
): { readonly args: string[]; readonly etcd?: string } | { readonly problem: string } {
  const rest: string[] = [];
  let etcd: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    let value: string | undefined;
    if (arg === '--etcd') {
      value = args[++i];
      if (value === undefined) return { problem: '--etcd: expected an etcd version or image reference' };
    } else if (arg.startsWith('--etcd=')) {
      value = arg.slice('--etcd='.length);
    } else {
      rest.push(arg);
      continue;
    }
    if (etcd !== undefined) return { problem: `--etcd given twice (${etcd}, ${value})` };
    const problem = etcdRequestProblem(value);
    if (problem !== undefined) return { problem: `--etcd: ${problem}` };
    etcd = value.trim();
  }
  return etcd === undefined ? { args: rest } : { args: rest, etcd };
}
