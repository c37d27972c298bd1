import {chmod, mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {TestProject} from 'vitest/node';
import {PostgresCluster} from '../../src/providers/local/postgres-cluster.js';
import {createPool} from '../../src/core/store/pool.js';
import {migrate} from '../../src/core/store/migrate.js';

export const TEMPLATE_DB = 'ops_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pg: {socketDir: string; port: number; templateDb: string};
  }
}

/**
 * One real PostgreSQL cluster for the whole run (initdb in a temp dir, a free 127.0.0.1 port, run
 * as an unprivileged account when we are root) with a migrated template database that each test
 * file clones (test/helpers/db.ts). Removed afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'odoo-sh-next-test-'));
  await chmod(dir, 0o755);
  const cluster = new PostgresCluster({root: join(dir, 'pg'), settings: {fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: 300}});
  const {socketDir, port} = await cluster.start();
  const admin = createPool({url: cluster.socketUrl('postgres', socketDir, port), max: 1});
  await admin.query(`create database ${TEMPLATE_DB}`);
  await admin.end();
  const tpl = createPool({url: cluster.socketUrl(TEMPLATE_DB, socketDir, port), max: 1});
  await migrate(tpl);
  await tpl.end();
  project.provide('pg', {socketDir, port, templateDb: TEMPLATE_DB});
  return async () => {
    await cluster.stop().catch(() => false);
    await rm(dir, {recursive: true, force: true});
  };
}
