import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BadInputError } from '../../errors.ts';
import { packagePath } from '../../util/package-root.ts';
import { validateExperiment, type ExperimentOverrides, type ExperimentSpec } from './spec.ts';

/** Experiment files: the ones shipped in lab/, and reading one (by name or path) into a checked spec. */

export const LAB_DIR = packagePath('lab');

/** The experiments shipped in lab/: name → file. */
export function listExperimentFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const file of readdirSync(LAB_DIR)) {
    if (/\.ya?ml$/.test(file)) files.set(basename(file).replace(/\.ya?ml$/, ''), join(LAB_DIR, file));
  }
  return files;
}

/** Loads and validates an experiment by name (from lab/) or by path. Bad input: BadInputError naming the field. */
export async function loadExperiment(
  nameOrPath: string,
  overrides: ExperimentOverrides = {},
): Promise<{ spec: ExperimentSpec; file: string }> {
  const shipped = listExperimentFiles();
  const file = shipped.get(nameOrPath) ?? nameOrPath;
  if (!existsSync(file)) {
    throw new BadInputError(
      `unknown experiment "${nameOrPath}": not one of ${[...shipped.keys()].join(', ')} and no such file`,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, 'utf8'));
  } catch (error) {
    throw new BadInputError(`experiment file ${file} is not valid YAML/JSON: ${(error as Error).message}`);
  }
  return { spec: validateExperiment(raw, file, overrides), file };
}
