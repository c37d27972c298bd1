/**
 * db export / db import and the other import formats on real PostgreSQL with the local provider:
 * Odoo's zip (from a live env and from a backup) loads back with identical tables and filestore,
 * a pg_dump file needs --no-filestore, a native backup tar imports, hostile archives are refused,
 * a production backup restored into staging is neutralized (prepareClonedDatabase), and the
 * restore test of `backups verify --restore-test` checks a scratch copy and drops it.
 */
import {execa} from 'execa';
import {existsSync, readdirSync, rmSync} from 'node:fs';
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {createWriteStream} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {exportBackupOdooZip, exportLiveOdooZip} from '../../../src/core/backup/odoo-zip.js';
import {ZipReader, ZipWriter} from '../../../src/core/backup/odoo-zip-format.js';
import {writeNativeArchive} from '../../../src/core/backup/backup-download.js';
import {loadBackup} from '../../../src/core/backup/restore-sources.js';
import {restoreTestBackup} from '../../../src/core/backup/restore-test.js';
import {queryOne} from '../../../src/core/backup/restore-database.js';
import {restoreDatabaseName} from '../../../src/core/backup/restore-plan.js';
import {databaseUrl} from '../../../src/core/neutralize/env-database.js';
import pg from 'pg';
import {filesystemBackend, type Backend} from './backup-fixture.js';
import {addData, dbExists, filestoreExists, makeRestoreFixture, serving, sig, snapshot, type RestoreFixture} from './restore-fixture.js';

let f: RestoreFixture;
let backend: Backend;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'odoo-sh-import-'));
  f = await makeRestoreFixture();
  backend = await filesystemBackend();
  f.setStorage(backend.storage);
  await f.up('main', 'production');
  await addData(f, 'main', 'imp');
}, 120_000);

afterAll(async () => {
  await f?.cleanup();
  await backend?.stop();
  await rm(dir, {recursive: true, force: true});
});

async function importFile(path: string, env: string, noFilestore = false) {
  const planned = await f.service.plan({source: {kind: 'file', path}, toEnv: env, noFilestore}, sig());
  return {planned, run: await f.service.run(planned, {signal: sig()})};
}

async function backup(env: string): Promise<string> {
  const out = await f.backups.create({env, kind: 'manual', signal: sig()});
  expect(out.run.state, JSON.stringify(out.run.result)).toBe('succeeded');
  return out.backup!.id;
}

describe("Odoo's backup zip", () => {
  it('db export writes dump.sql, manifest.json and filestore/ (Python zipfile reads it) and db import loads it back identically', async () => {
    const before = await snapshot(f, 'main');
    const out = join(dir, 'main.zip');
    const res = await exportLiveOdooZip({provider: f.local.provider, env: 'main', database: await f.database('main'), out, signal: sig()});
    expect(res.entries).toBe(2 + Object.keys(before.files).length);
    const zip = await ZipReader.open(out);
    try {
      expect(zip.entries[0]!.name).toBe('dump.sql');
      const manifest = JSON.parse(await zip.readText(zip.find('manifest.json')!));
      expect(manifest).toMatchObject({odoo_dump: '1', db_name: await f.database('main'), version: '17.0', major_version: '17.0', version_info: [17, 0, 0, 'final', 0, '']});
      expect(manifest.pg_version).toMatch(/^\d+\.0$/);
      expect(Object.keys(manifest.modules)).toEqual(expect.arrayContaining(['base', 'mail']));
      expect(zip.entries.filter((e) => e.name.startsWith('filestore/')).map((e) => e.name.slice(10)).sort()).toEqual(Object.keys(before.files).sort());
    } finally {
      await zip.close();
    }
    if ((await execa('python3', ['--version'], {reject: false})).exitCode === 0) {
      await execa('python3', ['-c', 'import sys,zipfile; assert zipfile.ZipFile(sys.argv[1]).testzip() is None', out]);
    }

    await addData(f, 'main', 'changed');
    const {planned, run} = await importFile(out, 'main');
    expect(planned).toMatchObject({crossEnv: true, prepareClone: false, destructive: true, safetyBackup: true});
    expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
    const after = await snapshot(f, 'main');
    expect(after.tables).toEqual(before.tables);
    expect(after.files).toEqual(before.files);
    expect((await serving(f, 'main')).healthy).toBe(true);
  }, 60_000);

  it('backups download --format odoo-zip (from a backup) loads back identically', async () => {
    const before = await snapshot(f, 'main');
    const id = await backup('main');
    const {manifest} = await loadBackup({project: 'shop', restores: async () => f.restores, storage: async () => backend.storage, signal: sig()}, id);
    const out = join(dir, 'from-backup.zip');
    await exportBackupOdooZip({manifest, ref: {project: 'shop', env: 'main', id}, storage: backend.storage, provider: f.local.provider, out, signal: sig()});
    await addData(f, 'main', 'changed-again');
    const {run} = await importFile(out, 'main');
    expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
    const after = await snapshot(f, 'main');
    expect(after.tables).toEqual(before.tables);
    expect(after.files).toEqual(before.files);
  }, 60_000);
});

describe('other formats', () => {
  it('a native backup tar (backups download --format native) imports', async () => {
    const before = await snapshot(f, 'main');
    const id = await backup('main');
    const {manifest} = await loadBackup({project: 'shop', restores: async () => f.restores, storage: async () => backend.storage, signal: sig()}, id);
    const out = join(dir, 'native.tar');
    await writeNativeArchive(backend.storage, {project: 'shop', env: 'main', id}, manifest, out, sig());
    const {planned, run} = await importFile(out, 'main');
    expect(planned).toMatchObject({crossEnv: false, sourceEnv: 'main'});
    expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
    expect(await snapshot(f, 'main')).toEqual(before);
  }, 60_000);

  it('hostile archives are refused before anything is written', async () => {
    const zipFile = join(dir, 'evil.zip');
    const w = new ZipWriter(createWriteStream(zipFile));
    await w.addFile('dump.sql', Buffer.from('select 1;'));
    await w.addFile('filestore/../../../evil.txt', Buffer.from('pwned'));
    await w.finish();
    await expect(f.service.plan({source: {kind: 'file', path: zipFile}, toEnv: 'main', noFilestore: false}, sig())).rejects.toThrow(/unsafe.*\.\.\/\.\.\/\.\.\/evil/);

    const tarFile = join(dir, 'evil.tar');
    const {Header} = await import('tar');
    const h = Buffer.alloc(512);
    new Header({path: '../outside-manifest.json', type: 'File', size: 2, mode: 0o644, mtime: new Date(0)}).encode(h, 0);
    await writeFile(tarFile, Buffer.concat([h, Buffer.from('{}'), Buffer.alloc(510), Buffer.alloc(1024)]));
    await expect(f.service.plan({source: {kind: 'file', path: tarFile}, toEnv: 'main', noFilestore: false}, sig())).rejects.toThrow(/unsafe.*outside-manifest/);
    expect(existsSync(join(dir, '..', 'evil.txt'))).toBe(false);
    expect((await readdir(dir)).filter((n) => n.includes('outside') || n.includes('evil.txt'))).toEqual([]);
  }, 30_000);
});

describe('across environments and restore tests', () => {
  it('a production backup restored into staging goes through clone preparation (new identity, neutralized)', async () => {
    await f.up('stage', 'staging');
    const id = await backup('main');
    const planned = await f.service.plan({source: {kind: 'backup', backupId: id}, toEnv: 'stage', noFilestore: false}, sig());
    expect(planned).toMatchObject({targetEnv: 'stage', crossEnv: true, prepareClone: true, safetyBackup: false, destructive: false});
    const run = await f.service.run(planned, {signal: sig()});
    expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
    expect(run.result).toMatchObject({prepared: true});
    const handle = await f.local.provider.database('main', sig());
    const param = async (env: string, key: string) =>
      (await queryOne(handle, await f.database(env), `select coalesce((select value from ir_config_parameter where key = '${key}'), '')`, sig()))[0];
    expect(await param('stage', 'database.is_neutralized')).toBe('true');
    expect(await param('stage', 'database.uuid')).not.toBe(await param('main', 'database.uuid'));
    expect(await param('stage', 'database.secret')).not.toBe(await param('main', 'database.secret'));
    expect((await serving(f, 'stage')).healthy).toBe(true);
  }, 90_000);

  it('restore test: restores into a scratch database, checks sentinels and attachments, drops it', async () => {
    const id = await backup('main');
    const report = await restoreTestBackup(id, {project: 'shop', provider: async () => f.local.provider, restores: async () => f.restores, storage: async () => backend.storage}, sig());
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.sentinels.map((s) => [s.table, s.ok])).toEqual([
      ['ir_attachment', true], ['ir_module_module', true], ['res_partner', true], ['res_users', true],
    ].sort());
    expect(report.sentinels.find((s) => s.table === 'res_partner')!.dumpRows).toBeGreaterThan(3);
    expect(report.verify?.attachmentFilesChecked).toBeGreaterThan(2);
    expect(await dbExists(f, 'main', report.scratchDatabase)).toBe(false);
  }, 60_000);

  it('a restore test drops the scratch databases of killed tests (their lock is free), never a running one\'s', async () => {
    const id = await backup('main');
    const main = await f.database('main');
    const handle = await f.local.provider.database('main', sig());
    const killed = restoreDatabaseName(main, 'dead0000-0000-4000-8000-000000000000', 'test');
    const running = restoreDatabaseName(main, 'a11e0000-0000-4000-8000-000000000000', 'test');
    for (const name of [killed, running]) {
      await handle.createDatabase(name, {}, sig());
      await mkdir(f.local.provider.filestore.location({env: 'main', database: name}).path!, {recursive: true});
    }
    const work = await mkdtemp(join(tmpdir(), 'restore-test-work-'));
    await mkdir(join(work, `restore-test-${killed}`));
    // A test still running holds its lock in a session of its own.
    const holder = new pg.Client({connectionString: databaseUrl(handle.adminUrl.reveal(), 'postgres')});
    await holder.connect();
    try {
      await holder.query(`select pg_advisory_lock(hashtextextended('odoo-sh-next.restore-test:' || $1, 0))`, [running]);
      const report = await restoreTestBackup(id, {
        project: 'shop', provider: async () => f.local.provider, restores: async () => f.restores, storage: async () => backend.storage, workDir: work,
      }, sig());
      expect(report.ok, report.problems.join('; ')).toBe(true);
      expect(await dbExists(f, 'main', killed)).toBe(false);
      expect(filestoreExists(f, 'main', killed)).toBe(false);
      expect(existsSync(join(work, `restore-test-${killed}`))).toBe(false);
      expect(await dbExists(f, 'main', running)).toBe(true);
      expect(filestoreExists(f, 'main', running)).toBe(true);
      expect(readdirSync(work)).toEqual([]); // its own work folder went too
    } finally {
      await holder.end();
      await handle.dropDatabase(running, sig());
      await f.local.provider.filestore.remove({env: 'main', database: running}, sig());
      rmSync(work, {recursive: true, force: true});
    }
  }, 90_000);
});

describe('the database alone', () => {
  // Last: it leaves main with attachments whose files are gone (later backups would fail to verify).
  it('a pg_dump custom-format file needs --no-filestore, then imports the database alone', async () => {
    const file = join(dir, 'main.dump');
    const handle = await f.local.provider.database('main', sig());
    await handle.runTool('pg_dump', ['--format=custom', '--no-owner', '-d', await f.database('main'), '-f', file], {}, sig());
    await expect(f.service.plan({source: {kind: 'file', path: file}, toEnv: 'main', noFilestore: false}, sig())).rejects.toThrow(/--no-filestore|no filestore/);
    const before = await snapshot(f, 'main');
    const {planned, run} = await importFile(file, 'main', true);
    expect(planned.warnings.join(' ')).toMatch(/without filestore/);
    expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
    expect((await snapshot(f, 'main')).tables).toEqual(before.tables);
    expect((run.result?.['verify'] as {attachmentsWithoutFile: number}).attachmentsWithoutFile).toBeGreaterThan(0);
  }, 60_000);

});

