// bin/run.js caps V8's young generation at 8 MiB (it stops the new space growing after the GC
// that takes it there): a backup streams gigabytes through short-lived buffers, and a growing
// nursery only holds garbage longer (bench/README.md, peak RSS). Checked on the real entry point:
// under allocation bursts spread over event-loop turns (as streaming allocates) the new space stays
// near the cap, unless the user sets the semi-space themselves.
import {execa} from 'execa';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {BIN, ROOT} from '../helpers/cli.js';

let dir: string;
let probe: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'young-gen-'));
  probe = join(dir, 'probe.mjs');
  // After bin/run.js set its observer, allocate bursts of short-lived objects over many turns of
  // the event loop (keeping the process alive meanwhile), then report the largest new space seen.
  await writeFile(probe, `import v8 from 'node:v8';
let max = 0;
let kept = 0;
const keep = [];
const burst = (n) => {
  for (let i = 0; i < 40000; i++) {
    const o = {a: i, b: 'x' + i};
    if (i % 64 === 0) keep.push(o);
  }
  if (keep.length > 50000) { kept += keep.length; keep.length = 0; }
  max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
  if (n > 0) setImmediate(() => burst(n - 1));
  else process.stderr.write('NEW_SPACE ' + max + ' ' + kept + '\\n');
};
setTimeout(() => burst(150), 0);
`);
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

const newSpace = async (nodeArgs: string[]) => {
  const res = await execa(process.execPath, [...nodeArgs, '--import', probe, BIN, '--version'], {cwd: ROOT, reject: false});
  const m = /NEW_SPACE (\d+)/.exec(String(res.stderr));
  expect(m, String(res.stderr)).not.toBeNull();
  return Number(m![1]);
};

describe('the CLI entry point', () => {
  it('caps the young generation near 8 MiB; a semi-space the user sets wins', async () => {
    const mine = await newSpace([]);
    expect(mine).toBeLessThanOrEqual(16 * 1024 * 1024); // the cap, or one doubling past it before the observer runs
    const theirs = await newSpace(['--max-semi-space-size=32']);
    expect(theirs).toBeGreaterThan(mine);
  });
});
