/**
 * `npm run bench`: runs every `*.bench.js` beside this file (compiled from test/bench), or those
 * whose name contains one of the arguments, prints the table and writes `.bench/results.json`.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchResult, type BenchSuite, formatTable, runSuite } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const results: BenchResult[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { suite?: BenchSuite };
  if (mod.suite === undefined) {
    process.stderr.write(`${file}: exports no 'suite'; skipped\n`);
    continue;
  }
  process.stderr.write(`running ${mod.suite.name} ...\n`);
  results.push(...(await runSuite(mod.suite)));
}

process.stdout.write(`${formatTable(results)}\n`);
const outDir = join(here, '..', '..', '..', '.bench');
mkdirSync(outDir, { recursive: true });
const out = join(outDir, 'results.json');
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2)}\n`,
);
process.stdout.write(`\nwritten to ${out}\n`);
if (results.some((r) => r.error !== undefined)) process.exitCode = 1;
