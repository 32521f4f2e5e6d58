// CI's last line: `node --import tsx scripts/test-summary.ts <npm test's exit status>` prints
// `N passed, N failed` from results/vitest.json (see countTests for what counts as failed).
import { existsSync, readFileSync } from 'node:fs';
import { countTests, type VitestReport } from './lib/vitest-reports.ts';

const REPORT = 'results/vitest.json';
const status = Number(process.argv[2] ?? '0');
const report = existsSync(REPORT) ? (JSON.parse(readFileSync(REPORT, 'utf8')) as VitestReport) : undefined;
const counts = countTests(report, Number.isInteger(status) ? status : 1);
if (counts.skipped > 0) console.log(`(${String(counts.skipped)} skipped)`);
console.log(`${String(counts.passed)} passed, ${String(counts.failed)} failed`);
