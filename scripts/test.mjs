#!/usr/bin/env node
// Runs the whole vitest suite, then prints one closing line "Tests: N passed, N failed[, N skipped]"
// that any CI reader understands, and exits with vitest's status.
import {spawnSync} from 'node:child_process';
import {mkdirSync, readFileSync} from 'node:fs';

mkdirSync('test-results', {recursive: true});
const out = 'test-results/vitest.json';
const res = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)],
  {stdio: 'inherit'},
);
let summary = 'Tests: 0 passed, 0 failed';
try {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  summary = `Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
} catch {
  summary = 'Tests: 0 passed, 1 failed';
}
console.log(`\n${summary}`);
process.exit(res.status ?? 1);
