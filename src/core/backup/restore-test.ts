/**
 * `backups verify ID --restore-test`: restores the backup into a scratch database and filestore
 * (`<db>_t<id>`, never the environment's), then checks
 * - what a real restore checks (restore-verify.ts: attachments' files and sha1, installed modules
 *   equal to the manifest's, the filestore equal to the manifest's file list);
 * - sentinel tables (ir_module_module, res_users, res_partner, ir_attachment): the rows the dump
 *   holds (`pg_restore -f - --data-only -t T`) equal the restored table's (COPY), compared as
 *   row counts and an order-independent hash of the rows (streamed, memory stays flat);
 * and drops the scratch database and filestore whatever happens. A test holds a session-level
 * advisory lock on its scratch database's name while it runs; the next test of the same
 * environment's database drops the scratch databases (and filestores, and work folders) whose lock
 * is free: those of tests killed before they could clean up.
 */
import {createHash, randomUUID} from 'node:crypto';
import {mkdir, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {DatabaseHandle, Provider} from '../../providers/provider.js';
import type {BackupStorage} from '../storage/backup-storage.js';
import {withHandleDatabase} from '../neutralize/env-database.js';
import {createEmptyDatabase, existingTables} from './restore-database.js';
import {restoreDatabaseName} from './restore-plan.js';
import type {RestoreRepository} from './restore-repository.js';
import {discardRestore} from './restore-run-type.js';
import {openBackupSource} from './restore-sources.js';
import {verifyRestored, type RestoredVerifyReport} from './restore-verify.js';
import {LineWritable} from './line-writable.js';

export const SENTINEL_TABLES = ['ir_module_module', 'res_users', 'res_partner', 'ir_attachment'] as const;

export interface SentinelCheck {
  readonly table: string;
  readonly dumpRows: number;
  readonly restoredRows: number;
  /** Order-independent hash (sum of the rows' sha256 prefixes, mod 2^64), hex. */
  readonly dumpHash: string;
  readonly restoredHash: string;
  readonly ok: boolean;
}

export interface RestoreTestReport {
  readonly backupId: string;
  readonly scratchDatabase: string;
  readonly ok: boolean;
  readonly verify: RestoredVerifyReport | null;
  readonly sentinels: readonly SentinelCheck[];
  /** Why it failed (verification or sentinel mismatch), when it did. */
  readonly problems: readonly string[];
}

export interface RestoreTestDeps {
  readonly project: string;
  readonly provider: () => Promise<Provider>;
  readonly restores: () => Promise<RestoreRepository>;
  readonly storage: () => Promise<BackupStorage>;
  readonly workDir?: string;
  readonly jobs?: number;
}

/** Sums rows' hashes; with `copy` only the rows between a COPY line and `\.` count. */
class RowHasher extends LineWritable {
  rows = 0;
  sum = 0n;
  columns: string | null = null;
  #inCopy: boolean;
  constructor(private readonly dumpFormat: boolean) {
    super();
    this.#inCopy = !dumpFormat;
  }
  protected override line(line: string): void {
    if (this.dumpFormat) {
      if (!this.#inCopy) {
        const m = /^COPY \S+ (\(.*\)) FROM stdin;$/.exec(line);
        if (m) {
          this.#inCopy = true;
          this.columns = m[1]!;
        }
        return;
      }
      if (line === '\\.') {
        this.#inCopy = false;
        return;
      }
    }
    this.rows++;
    this.sum = (this.sum + createHash('sha256').update(line).digest().readBigUInt64BE(0)) & 0xffffffffffffffffn;
  }
  get hash(): string {
    return this.sum.toString(16).padStart(16, '0');
  }
}

async function sentinel(handle: DatabaseHandle, database: string, dumpFile: string, table: string, signal: AbortSignal): Promise<SentinelCheck> {
  const fromDump = new RowHasher(true);
  await handle.runTool('pg_restore', ['-f', '-', '--data-only', '--table', table, dumpFile], {stdout: fromDump}, signal);
  const restored = new RowHasher(false);
  const columns = fromDump.columns ?? '';
  await handle.runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', `copy public.${table} ${columns} to stdout`], {stdout: restored}, signal);
  return {
    table, dumpRows: fromDump.rows, restoredRows: restored.rows, dumpHash: fromDump.hash, restoredHash: restored.hash,
    ok: fromDump.rows === restored.rows && fromDump.hash === restored.hash,
  };
}

/** The advisory lock key a live restore test holds on its scratch database's name. */
const LOCK_SQL = "hashtextextended('odoo-sh-next.restore-test:' || $1, 0)";

/** The work folder of a restore test (named after its scratch database, so leftovers are found). */
const testWorkDir = (deps: Pick<RestoreTestDeps, 'workDir'>, scratch: string) => join(deps.workDir ?? tmpdir(), `restore-test-${scratch}`);

/**
 * Drops the scratch databases of restore tests of `envDatabase` that nobody runs any more (their
 * lock is free: the process was killed), with their filestores and work folders. Returns their names.
 */
export async function dropAbandonedRestoreTests(
  deps: Pick<RestoreTestDeps, 'workDir'> & {readonly provider: Provider},
  lock: {query(sql: string, values?: unknown[]): Promise<{rows: Record<string, unknown>[]}>},
  env: string, envDatabase: string, signal: AbortSignal,
): Promise<string[]> {
  const probe = restoreDatabaseName(envDatabase, '00000000', 'test');
  const base = probe.slice(0, -'_t00000000'.length);
  const {rows} = await lock.query(
    `select datname from pg_database where left(datname, $1) = $2 and datname ~ '_t[0-9a-f]{8}$' and length(datname) = $1 + 10 order by datname`,
    [base.length, base]);
  const dropped: string[] = [];
  for (const name of rows.map((r) => String(r['datname']))) {
    const {rows: got} = await lock.query(`select pg_try_advisory_lock(${LOCK_SQL}) as ok`, [name]);
    if (got[0]?.['ok'] !== true) continue; // a test is running on it
    try {
      await discardRestore({provider: async () => deps.provider}, env, name);
      await rm(testWorkDir(deps, name), {recursive: true, force: true});
      dropped.push(name);
    } finally {
      await lock.query(`select pg_advisory_unlock(${LOCK_SQL})`, [name]);
    }
    if (signal.aborted) break;
  }
  return dropped;
}

export async function restoreTestBackup(backupId: string, deps: RestoreTestDeps, signal: AbortSignal): Promise<RestoreTestReport> {
  const source = await openBackupSource({project: deps.project, restores: deps.restores, storage: deps.storage, signal}, backupId);
  const env = source.manifest.env;
  const scratch = restoreDatabaseName(source.manifest.database.name, randomUUID(), 'test');
  const provider = await deps.provider();
  const handle = await provider.database(env, signal);
  // The lock session lives as long as the test: a killed test's lock goes with its connection.
  return withHandleDatabase(handle, 'postgres', signal, async (lock) => {
    await dropAbandonedRestoreTests({...deps, provider}, lock, env, source.manifest.database.name, signal);
    await lock.query(`select pg_advisory_lock(${LOCK_SQL})`, [scratch]);
    const work = testWorkDir(deps, scratch);
    const problems: string[] = [];
    let verify: RestoredVerifyReport | null = null;
    const sentinels: SentinelCheck[] = [];
    try {
      await mkdir(work, {recursive: true, mode: 0o700});
      await source.fetch(work, signal);
      await createEmptyDatabase(handle, scratch, signal);
      await source.loadDatabase(handle, scratch, {jobs: deps.jobs ?? 2}, signal);
      if (source.hasFilestore) {
        const tar = await source.filestoreTar(signal);
        const [restored, read] = await Promise.allSettled([provider.filestore.restore({env, database: scratch}, tar.stream, signal), tar.done]);
        if (read.status === 'rejected') throw read.reason;
        if (restored.status === 'rejected') throw restored.reason;
      }
      try {
        verify = await verifyRestored({
          provider, env, database: scratch, withFilestore: source.hasFilestore, signal,
          expectedModules: source.expectedModules, expectedFiles: source.expectedFiles,
        });
      } catch (err) {
        problems.push((err as Error).message);
      }
      for (const table of await existingTables(handle, scratch, SENTINEL_TABLES, signal)) {
        const check = await sentinel(handle, scratch, source.dumpFile!, table, signal);
        sentinels.push(check);
        if (!check.ok) problems.push(`table ${table}: ${check.restoredRows} rows restored (hash ${check.restoredHash}) vs ${check.dumpRows} in the dump (hash ${check.dumpHash})`);
      }
    } finally {
      await discardRestore({provider: async () => provider}, env, scratch);
      await rm(work, {recursive: true, force: true});
    }
    return {backupId, scratchDatabase: scratch, ok: problems.length === 0, verify, sentinels, problems};
  });
}
