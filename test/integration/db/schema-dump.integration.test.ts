import {execa} from 'execa';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {inject, describe, expect, it} from 'vitest';
import {findPgBinDir} from '../../../src/providers/local/pg-binaries.js';
import {ROOT} from '../../helpers/cli.js';

const CONTRACT = join(ROOT, 'spec', 'contracts', 'schema.sql');

/** pg_dump output without the lines that vary by tool version or run. */
function normalize(sql: string): string {
  return sql.split('\n')
    .filter((l) => !/^-- Dumped (from|by)/.test(l) && !/^\\(un)?restrict /.test(l) && !/^SET /.test(l) && !/^SELECT pg_catalog.set_config/.test(l))
    .join('\n').replace(/\n{3,}/g, '\n\n').trim() + '\n';
}

describe('spec/contracts/schema.sql', () => {
  it('is the schema the migrations produce (regenerate with UPDATE_CONTRACTS=1)', async () => {
    const {socketDir, port, templateDb} = inject('pg');
    const bin = await findPgBinDir();
    const {stdout} = await execa(join(bin, 'pg_dump'), ['--schema-only', '--no-owner', '--no-privileges', '--schema=ops', '-h', socketDir, '-p', String(port), '-U', 'postgres', templateDb]);
    const dumped = normalize(stdout);
    if (process.env['UPDATE_CONTRACTS'] === '1') writeFileSync(CONTRACT, dumped);
    expect(dumped).toBe(readFileSync(CONTRACT, 'utf8'));
  });
});
