import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {migrate, migrationStatus, assertMigrated} from '../../../src/core/store/migrate.js';
import {migrations} from '../../../src/core/store/generated/migrations.js';
import {superuserUrl} from '../../helpers/db.js';

let admin: pg.Client;
const created: string[] = [];

async function emptyDatabase(): Promise<string> {
  const name = `m_${Math.random().toString(16).slice(2, 10)}`;
  await admin.query(`create database ${name}`);
  created.push(name);
  return name;
}

beforeAll(async () => {
  admin = new pg.Client({connectionString: superuserUrl()});
  await admin.connect();
});
afterAll(async () => {
  for (const db of created) await admin.query(`drop database if exists ${db} with (force)`);
  await admin.end();
});

describe('migrations', () => {
  it('apply to an empty database and are idempotent', async () => {
    const pool = new pg.Pool({connectionString: superuserUrl(await emptyDatabase())}).on('error', () => undefined);
    const first = await migrate(pool);
    expect(first.applied).toEqual(migrations.map((m) => m.id));
    const second = await migrate(pool);
    expect(second.applied).toEqual([]);
    expect(second.pending).toEqual([]);
    await expect(assertMigrated(pool)).resolves.toMatchObject({current: migrations.length});
    await pool.end();
  });

  it('are safe under 10 concurrent migrators: each migration applied exactly once', async () => {
    const url = superuserUrl(await emptyDatabase());
    const pools = Array.from({length: 10}, () => new pg.Pool({connectionString: url, max: 1}).on('error', () => undefined));
    const results = await Promise.all(pools.map((p) => migrate(p)));
    const applied = results.flatMap((r) => r.applied).sort((a, b) => a - b);
    expect(applied).toEqual(migrations.map((m) => m.id));
    const {rows} = await pools[0]!.query('select id from ops.migrations order by id');
    expect(rows.map((r) => r.id)).toEqual(migrations.map((m) => m.id));
    await Promise.all(pools.map((p) => p.end()));
  });

  it('refuses a database migrated by a newer release', async () => {
    const pool = new pg.Pool({connectionString: superuserUrl(await emptyDatabase())}).on('error', () => undefined);
    await migrate(pool);
    await pool.query(`insert into ops.migrations (id, name, breaking) values (999, '000999.sql', true)`);
    await expect(migrate(pool)).rejects.toMatchObject({code: 'CONFLICT', message: expect.stringContaining('newer odoo-sh-next release')});
    await expect(assertMigrated(pool)).rejects.toMatchObject({code: 'CONFLICT'});
    expect((await migrationStatus(pool)).unknown).toEqual([999]);
    await pool.end();
  });

  it('says which command to run when the database is behind', async () => {
    const pool = new pg.Pool({connectionString: superuserUrl(await emptyDatabase())}).on('error', () => undefined);
    await migrate(pool, {known: migrations.slice(0, 1)});
    await expect(assertMigrated(pool)).rejects.toMatchObject({actions: ['run `odoo-sh-next state migrate`']});
    await pool.end();
  });
});
