// Run by `npm run build` after tsc: every relative import in dist/*.js must name a .js file that
// exists. tsc's rewriteRelativeImportExtensions turns the sources' `.ts` specifiers into `.js`,
// but not everywhere (it missed a dynamic import inside a function using `await using`), and a
// specifier it misses only fails when an installed copy reaches that line.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

function* jsFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* jsFiles(file);
    else if (entry.name.endsWith('.js')) yield file;
  }
}

const problems: string[] = [];
let checked = 0;
for (const file of jsFiles(DIST)) {
  for (const match of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
    const specifier = match[2] ?? '';
    checked += 1;
    const target = path.resolve(path.dirname(file), specifier);
    if (!specifier.endsWith('.js') || !existsSync(target)) {
      problems.push(`${path.relative(DIST, file)}: ${specifier}`);
    }
  }
}
if (problems.length > 0) {
  process.stderr.write(`dist/ imports what the build does not have:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(`dist/: ${checked} relative imports, all to built .js files\n`);
