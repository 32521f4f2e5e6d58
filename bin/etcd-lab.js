#!/usr/bin/env node
// Two ways to run, chosen by what is on disk, never by age:
// - the repository (src/ present): the TypeScript sources through tsx, a devDependency, so an edit
//   runs at once with no build step (`npm run lab`, the CLI tests, CI);
// - an installed copy (`files` ships dist/, not src/): the compiled JavaScript, no tsx needed.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/cli/main.js');
}
