import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import base from '../../vitest.config.ts';

/**
 * The repository's vitest config with every project's testTimeout and hookTimeout multiplied by
 * ETCD_LAB_VM_TIMEOUT_FACTOR: under emulation (no KVM) a container starts in ~9 s instead of
 * ~0.6 s. A config rather than `--testTimeout`/`--hookTimeout` on the command line because
 * vitest 4.1 passes `testTimeout` but not `hookTimeout` from the command line into projects
 * (cliOverrides in resolveProjects), and the cluster projects set both. Timeouts a test file
 * passes to `it(…, ms)` itself are not scaled.
 */
const factor = Number(process.env.ETCD_LAB_VM_TIMEOUT_FACTOR ?? '1');
if (!Number.isFinite(factor) || factor < 1) {
  throw new Error(
    `ETCD_LAB_VM_TIMEOUT_FACTOR must be a number >= 1, got ${process.env.ETCD_LAB_VM_TIMEOUT_FACTOR}`,
  );
}

// vitest's defaults, for projects that set none.
const DEFAULT_TEST_TIMEOUT_MS = 5_000;
const DEFAULT_HOOK_TIMEOUT_MS = 10_000;

const scaled = (project: TestProjectInlineConfiguration): TestProjectInlineConfiguration => ({
  ...project,
  test: {
    ...project.test,
    testTimeout: Math.round((project.test?.testTimeout ?? DEFAULT_TEST_TIMEOUT_MS) * factor),
    hookTimeout: Math.round((project.test?.hookTimeout ?? DEFAULT_HOOK_TIMEOUT_MS) * factor),
  },
});

const projects = (base.test?.projects ?? []).map((project) => {
  if (typeof project !== 'object' || typeof project === 'function' || !('test' in project)) {
    throw new Error('test/vm/vitest.vm.config.ts expects inline project configs in vitest.config.ts');
  }
  return scaled(project);
});

export default defineConfig({
  ...base,
  // The repository root, so the projects' include and globalSetup paths resolve as in the base config.
  root: new URL('../..', import.meta.url).pathname,
  test: { ...base.test, projects },
});
