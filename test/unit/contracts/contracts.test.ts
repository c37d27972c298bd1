import {execa} from 'execa';
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import {describe, expect, it} from 'vitest';
import {ROOT} from '../../helpers/cli.js';

describe('public surface contracts (spec/contracts)', () => {
  it('the command snapshot and the JSON Schemas of --json results match the code', async () => {
    expect(existsSync(join(ROOT, 'oclif.manifest.json')), 'run `npm run build` first').toBe(true);
    const res = await execa(process.execPath, [join(ROOT, 'scripts', 'contracts.mjs'), 'check'], {cwd: ROOT, reject: false});
    expect(res.exitCode, res.stderr).toBe(0);
  });
});
