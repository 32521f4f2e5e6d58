#!/usr/bin/env node
// The lab runs from its TypeScript sources through tsx: no build step between an edit and a run.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
