import {execa} from 'execa';
import {mkdtemp, mkdir, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {ensureStateDir, scratchDirOf} from '../../../src/core/state/state-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'state-dir-'));
});
afterEach(async () => {
  await rm(dir, {recursive: true, force: true});
});

describe('the project state folder', () => {
  it('ignores itself: git add -A in the checkout picks up nothing under .odoo-sh-next/', async () => {
    await execa('git', ['init', '-q', '-b', 'main'], {cwd: dir});
    await writeFile(join(dir, 'README.md'), 'x\n');
    const state = await ensureStateDir(dir);
    await mkdir(join(state, 'postgres', 'data'), {recursive: true});
    await writeFile(join(state, 'postgres', 'data', 'PG_VERSION'), '15\n');
    await execa('git', ['add', '-A'], {cwd: dir});
    const {stdout} = await execa('git', ['diff', '--cached', '--name-only'], {cwd: dir});
    expect(stdout.split('\n')).toEqual(['README.md']);
  });

  it('leaves an existing .gitignore of the folder alone', async () => {
    await mkdir(join(dir, '.odoo-sh-next'));
    await writeFile(join(dir, '.odoo-sh-next', '.gitignore'), 'mine\n');
    await ensureStateDir(dir);
    expect(await readFile(join(dir, '.odoo-sh-next', '.gitignore'), 'utf8')).toBe('mine\n');
  });
});

describe('scratchDirOf', () => {
  it('is the tmp folder inside the state folder (ignored by git with it)', () => {
    expect(scratchDirOf('/srv/shop')).toBe('/srv/shop/.odoo-sh-next/tmp');
  });
});
