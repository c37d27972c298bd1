import {randomBytes} from 'node:crypto';
import pg from 'pg';
import {inject} from 'vitest';

export interface TestDatabase {
  readonly name: string;
  /** Superuser URL over the cluster's socket. */
  readonly url: string;
  /** URL for another login role (trust auth on the socket). */
  urlAs(role: string): string;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

function socketUrl(user: string, db: string): string {
  const {socketDir, port} = inject('pg');
  return `postgresql://${encodeURIComponent(user)}@/${db}?host=${encodeURIComponent(socketDir)}&port=${port}`;
}

/** A `state.url` for a test project's config: the test cluster's socket, the role in the query. */
export function stateUrlFor(db: string, user = 'postgres'): string {
  const {socketDir, port} = inject('pg');
  return `postgresql:///${db}?host=${encodeURIComponent(socketDir)}&port=${port}&user=${user}`;
}

export function superuserUrl(db = 'postgres'): string {
  return socketUrl('postgres', db);
}

/** A fresh, migrated database cloned from the template (CREATE DATABASE ... TEMPLATE). */
export async function createTestDatabase(prefix = 't'): Promise<TestDatabase> {
  const {templateDb} = inject('pg');
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({connectionString: superuserUrl()});
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${templateDb}`);
  } finally {
    await admin.end();
  }
  const url = socketUrl('postgres', name);
  const pool = new pg.Pool({connectionString: url, max: 10});
  pool.on('error', () => undefined);
  return {
    name,
    url,
    urlAs: (role) => socketUrl(role, name),
    pool,
    async drop() {
      await pool.end();
      const c = new pg.Client({connectionString: superuserUrl()});
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Creates (if needed) a LOGIN role granted ops_app: a project member connecting directly. */
export async function createMemberRole(pool: pg.Pool, role: string): Promise<void> {
  await pool.query(`do $$ begin
    if not exists (select 1 from pg_roles where rolname = '${role}') then
      create role "${role}" login in role ops_app;
    end if; end $$`);
}
