// bin/run.js keeps V8's young generation at its initial size (--semi-space-growth-factor=1): a
// backup streams gigabytes through short-lived buffers, and a growing nursery only holds garbage
// longer (bench/README.md, peak RSS). Checked on the real entry point: under an allocation burst
// the new space stays small, unless the user sets the semi-space themselves.
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
  // At exit (after bin/run.js set its flags), allocate a burst of short-lived objects, then report
  // the largest new space seen.
  await writeFile(probe, `import v8 from 'node:v8';
process.on('exit', () => {
  let max = 0;
  const keep = [];
  for (let i = 0; i < 3e6; i++) {
    const o = {a: i, b: 'x' + i};
    if (i % 64 === 0) keep.push(o);
    if (i % 100000 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
  }
  process.stderr.write('NEW_SPACE ' + max + ' ' + keep.length + '\\n');
});
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
  it('keeps the young generation small; a semi-space the user sets wins', async () => {
    const mine = await newSpace([]);
    expect(mine).toBeLessThanOrEqual(4 * 1024 * 1024);
    const theirs = await newSpace(['--max-semi-space-size=16']);
    expect(theirs).toBeGreaterThan(mine);
  });
});
