// The Odoo stand-in's reading of module migration scripts (test/fixtures/odoo-standin/migrations.ts): which version
// folders run, in which order, and what it executes of a script (its README documents the convention).
import {mkdir, mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {readScript, versionsToRun} from '../../fixtures/odoo-standin/migrations.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, {recursive: true, force: true});
});

describe('stand-in migrations', () => {
  it('runs folders with installed < version <= new, adapted to the series (17.0), in version order', async () => {
    const mod = await mkdtemp(join(tmpdir(), 'standin-mig-'));
    dirs.push(mod);
    for (const f of ['1.10', '1.2', '17.0.1.1', '0.0.0', '2.0', 'notes']) await mkdir(join(mod, 'migrations', f), {recursive: true});
    expect(versionsToRun(mod, '17.0.1.0', '17.0.1.10')).toEqual(['0.0.0', '17.0.1.1', '1.2', '1.10']);
    expect(versionsToRun(mod, '17.0.1.2', '17.0.2.0')).toEqual(['0.0.0', '1.10', '2.0']);
  });

  it('executes the cr.execute string literals in order and fails on a raise', () => {
    const ok = readScript(`def migrate(cr, version):\n    cr.execute("""UPDATE a SET b = 1""")\n    cr.execute('DELETE FROM c')\n`);
    expect(ok).toEqual([{kind: 'sql', sql: 'UPDATE a SET b = 1'}, {kind: 'sql', sql: 'DELETE FROM c'}]);
    const failing = readScript(`def migrate(cr, version):\n    cr.execute("SELECT 1")\n    raise UserError("no way")\n    cr.execute("SELECT 2")\n`);
    expect(failing).toEqual([{kind: 'sql', sql: 'SELECT 1'}, {kind: 'raise', cls: 'UserError', message: 'no way'}, {kind: 'sql', sql: 'SELECT 2'}]);
  });
});
