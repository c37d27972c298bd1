// Backups end to end on real PostgreSQL (the local provider's cluster with a stand-in Odoo
// database) and both storage backends (a folder, and s3rver over HTTP): create → complete with a
// correct manifest, verify catching each corruption by part, download, delete, the manual limit.
import {execa} from 'execa';
import {createHash, randomUUID} from 'node:crypto';
import {existsSync, readdirSync} from 'node:fs';
import {mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile, unlink} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {ConflictError, PolicyDeniedError, UsageError} from '../../../src/core/errors.js';
import {DUMP_DIRECTORY_MEMBER, MANIFEST_FILE, PART_FILES, partFile, type BackupManifest} from '../../../src/core/backup/backup-manifest.js';
import type {Backup} from '../../../src/core/backup/backup-record.js';
import type {BackupService} from '../../../src/core/backup/backup-service.js';
import type {VerifyFailure} from '../../../src/core/backup/backup-verify.js';
import type {BackupRef} from '../../../src/core/storage/backup-storage.js';
import {FilesystemBackupStorage} from '../../../src/core/storage/filesystem-storage.js';
import {
  ENV, filesystemBackend, makeBackupFixture, PROJECT, repackTar, s3Backend, sig, treeHashes, zstd,
  type Backend, type BackupFixture,
} from './backup-fixture.js';

let fx: BackupFixture;
beforeAll(async () => {
  fx = await makeBackupFixture();
});
afterAll(async () => {
  await fx?.cleanup();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** The database part of a backup of the local provider (directory format). */
const DUMP_TAR = partFile('database', 'pg_dump-directory+tar');

async function verifyFailures(service: BackupService, id: string): Promise<{err: ConflictError; failures: VerifyFailure[]}> {
  const err = await service.verify(id, sig()).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ConflictError);
  const c = err as ConflictError;
  return {err: c, failures: (c.data?.['failures'] ?? []) as VerifyFailure[]};
}

describe.each([
  ['filesystem', filesystemBackend],
  ['s3', s3Backend],
] as const)('backups on %s storage', (_name, makeBackend) => {
  let backend: Backend;
  let service: BackupService;
  const ref = (b: Backup): BackupRef => ({project: PROJECT, env: b.env, id: b.id});
  const fresh = async (): Promise<Backup> => {
    const {run, backup} = await service.create({env: ENV, signal: sig()});
    expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
    return backup!;
  };

  beforeAll(async () => {
    backend = await makeBackend();
    service = fx.service(backend.storage);
  });
  afterAll(async () => {
    await backend?.stop();
  });

  it('create → complete: every part stored with the sha256 and size the manifest records', async () => {
    const {run, backup} = await service.create({env: ENV, signal: sig()});
    expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
    expect(run.exclusive).toBe(true);
    const b = backup!;
    expect(b).toMatchObject({env: ENV, kind: 'manual', status: 'complete', storage: backend.name, location: backend.storage.location(ref(b))});
    const m = b.manifest as BackupManifest;
    expect(m).toMatchObject({formatVersion: 1, id: b.id, project: PROJECT, env: ENV, kind: 'manual', release: 'r1'});
    expect(m.odoo.version).toBe('17.0');
    expect(m.odoo.modules['base']).toMatch(/^17\.0\./);
    expect(Object.keys(m.odoo.modules)).toContain('mail');
    expect(m.database).toMatchObject({name: fx.database, format: 'pg_dump-directory+tar'});
    expect(m.database.sizeBytes).toBeGreaterThan(1_000_000);
    expect(m.database.pgVersion).toMatch(/^\d+/);
    expect(Object.keys(m.tools)).toEqual(expect.arrayContaining(['pg_dump', 'zstd']));
    expect(m.parts.map((p) => p.name)).toEqual(['database', 'filestore', 'logs']);
    let total = 0;
    for (const p of m.parts) {
      const raw = await backend.getRaw(ref(b), p.file);
      expect(p.file).toBe(partFile(p.name, 'pg_dump-directory+tar'));
      expect(p.compression).toBe(p.name === 'database' ? 'none' : 'zstd');
      expect(raw.length).toBe(p.sizeBytes);
      expect(sha256(raw)).toBe(p.sha256);
      total += raw.length;
    }
    const manifestRaw = await backend.getRaw(ref(b), MANIFEST_FILE);
    expect(JSON.parse(manifestRaw.toString())).toEqual(m);
    expect(b.sizeBytes).toBe(total + manifestRaw.length);
    // The dump is a directory-format dump (toc.dat first, then one gzip file per table) stored as
    // a plain tar; the filestore archive holds exactly the files on disk.
    const members = (await execa('tar', ['--list', '--file=-'], {input: await backend.getRaw(ref(b), DUMP_TAR)})).stdout.split('\n');
    expect(members[0]).toBe('toc.dat');
    expect(members.filter((n) => /^\d+\.dat\.gz$/.test(n)).length).toBeGreaterThan(10);
    expect(members.every((n) => DUMP_DIRECTORY_MEMBER.test(n))).toBe(true);
    const disk = await treeHashes(fx.filestoreDir);
    expect(new Map(m.filestore!.entries.map((e) => [e.path, {size: e.size, sha256: e.sha256}]))).toEqual(disk);
    expect(m.filestore!.files).toBe(disk.size);
    expect(await backend.leftovers()).toEqual([]);
    // Listed and verified.
    const listed = await service.list({env: ENV});
    expect(listed.find((l) => l.id === b.id)).toMatchObject({status: 'complete', parts: m.parts});
    const report = await service.verify(b.id.slice(0, 8), sig());
    expect(report).toMatchObject({ok: true, failureCount: 0, filestore: {files: disk.size, missing: 0, modified: 0, stray: 0}});
    expect(report.database.tocEntries).toBeGreaterThan(10);
    expect((await service.get(b.id)).verification).toMatchObject({ok: true});
  });

  it('verify names the part when one byte of the dump is flipped', async () => {
    const b = await fresh();
    const raw = await backend.getRaw(ref(b), DUMP_TAR);
    raw[Math.floor(raw.length / 2)]! ^= 0xff;
    await backend.putRaw(ref(b), DUMP_TAR, raw);
    const {err, failures} = await verifyFailures(service, b.id);
    expect(err.message).toContain('database');
    expect(failures).toContainEqual(expect.objectContaining({part: 'database', problem: 'sha256-mismatch'}));
    expect(failures.every((f) => f.part === 'database')).toBe(true);
    expect((await service.get(b.id)).verification).toMatchObject({ok: false});
  });

  it('verify names a table whose data file is missing from the directory dump, and a file pg_dump does not write', async () => {
    const b = await fresh();
    let removed = '';
    const repacked = await repackTar(await backend.getRaw(ref(b), DUMP_TAR), async (dir) => {
      removed = (await readdir(dir)).filter((n) => /^\d+\.dat\.gz$/.test(n)).sort()[0]!;
      await unlink(join(dir, removed));
      await writeFile(join(dir, 'notes.txt'), 'not from pg_dump');
    });
    await backend.putRaw(ref(b), DUMP_TAR, repacked);
    const {err, failures} = await verifyFailures(service, b.id);
    expect(err.message).toContain('database');
    expect(failures).toContainEqual(expect.objectContaining({part: 'database', problem: 'sha256-mismatch'}));
    expect(failures).toContainEqual(expect.objectContaining({part: 'database', problem: 'unreadable',
      message: expect.stringMatching(new RegExp(`no data file for 1 table\\(s\\) of toc.dat \\(first: ${removed.split('.')[0]}\\.dat\\)`))}));
    expect(failures).toContainEqual(expect.objectContaining({part: 'database', message: 'database archive: notes.txt is not a file pg_dump writes'}));
    expect(failures.every((f) => f.part === 'database')).toBe(true);
  });

  it('verify names a filestore file missing from the archive', async () => {
    const b = await fresh();
    const tar = await zstd(await backend.getRaw(ref(b), PART_FILES.filestore), 'decompress');
    const repacked = await repackTar(tar, (dir) => unlink(join(dir, '3a', '3a94f1c2d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3')));
    await backend.putRaw(ref(b), PART_FILES.filestore, await zstd(repacked, 'compress'));
    const {err, failures} = await verifyFailures(service, b.id);
    expect(err.message).toContain('filestore');
    expect(failures).toContainEqual(expect.objectContaining({part: 'filestore', problem: 'entry-missing', path: '3a/3a94f1c2d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3'}));
    expect(failures).toContainEqual(expect.objectContaining({part: 'filestore', problem: 'sha256-mismatch'}));
    expect(failures.filter((f) => f.problem === 'entry-missing')).toHaveLength(1);
  });

  it('verify names a truncated filestore archive', async () => {
    const b = await fresh();
    const raw = await backend.getRaw(ref(b), PART_FILES.filestore);
    await backend.putRaw(ref(b), PART_FILES.filestore, raw.subarray(0, Math.floor(raw.length / 2)));
    const {err, failures} = await verifyFailures(service, b.id);
    expect(err.message).toContain('filestore');
    expect(failures).toContainEqual(expect.objectContaining({part: 'filestore', problem: 'size-mismatch'}));
    expect(failures).toContainEqual(expect.objectContaining({part: 'filestore', problem: 'unreadable'}));
    expect(failures.every((f) => f.part === 'filestore')).toBe(true);
  });

  it('verify names a stray file added to the archive', async () => {
    const b = await fresh();
    const tar = await zstd(await backend.getRaw(ref(b), PART_FILES.filestore), 'decompress');
    const repacked = await repackTar(tar, async (dir) => {
      await execa('mkdir', ['-p', join(dir, 'zz')]);
      await writeFile(join(dir, 'zz', 'extra.bin'), 'not in the manifest');
    });
    await backend.putRaw(ref(b), PART_FILES.filestore, await zstd(repacked, 'compress'));
    const {failures} = await verifyFailures(service, b.id);
    expect(failures).toContainEqual(expect.objectContaining({part: 'filestore', problem: 'stray-entry', path: 'zz/extra.bin'}));
    expect(failures.filter((f) => f.problem.startsWith('entry-'))).toEqual([]);
  });

  it('download --format native gives a tar of the backup folder; delete needs --yes for production and is audited', async () => {
    const b = await fresh();
    const dir = await mkdtemp(join(tmpdir(), 'download-'));
    try {
      const out = join(dir, 'backup.tar');
      const res = await service.download(b.id, {out, format: 'native', signal: sig()});
      expect(res).toMatchObject({id: b.id, format: 'native', out});
      await execa('tar', ['--extract', '--file', out, '--directory', dir]);
      for (const p of b.manifest!.parts) expect(sha256(await readFile(join(dir, b.id, p.file)))).toBe(p.sha256);
      expect(JSON.parse(await readFile(join(dir, b.id, MANIFEST_FILE), 'utf8'))).toEqual(b.manifest);
      // odoo-zip is written by src/core/backup/odoo-zip.ts (the export work): a zip, or not there yet.
      const zip = await service.download(b.id, {out: join(dir, 'x.zip'), format: 'odoo-zip', signal: sig()}).catch((e: Error) => e);
      if (zip instanceof Error) expect(zip.message).toMatch(/odoo-zip/);
      else expect((await readFile(join(dir, 'x.zip'))).subarray(0, 2).toString()).toBe('PK');
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
    await expect(service.delete(b.id, {signal: sig()})).rejects.toBeInstanceOf(UsageError);
    expect((await service.get(b.id)).status).toBe('complete');
    const deleted = await service.delete(b.id, {yes: true, signal: sig()});
    expect(deleted).toMatchObject({id: b.id, status: 'deleted', filesRemoved: true});
    expect(await backend.storage.list(ref(b), sig())).toEqual([]);
    expect(await backend.leftovers()).toEqual([]);
    expect((await service.list({env: ENV})).map((l) => l.id)).not.toContain(b.id);
    expect((await service.list({env: ENV, all: true})).find((l) => l.id === b.id)?.status).toBe('deleted');
    const audit = await fx.db.pool.query(`select action from ops.audit_log where target = $1 order by seq`, [b.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['backup.create', 'backup.complete', 'backup.delete']);
    // Deleting again is a no-op (a retry of an interrupted delete).
    expect((await service.delete(b.id, {signal: sig()})).filesRemoved).toBe(false);
  });

  it('refuses a manual backup over backups.manualPerDay (exit 8), before queueing a run', async () => {
    const today = (await service.list({env: ENV})).filter((l) => l.kind === 'manual' && l.status !== 'failed').length;
    const limited = fx.service(backend.storage, {config: {manualPerDay: today}});
    const err = await limited.create({env: ENV, signal: sig()}).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect((err as Error).message).toMatch(/manual backup limit reached/);
    const daily = await limited.create({env: ENV, kind: 'daily', signal: sig()});
    expect(daily.backup?.status).toBe('complete');
  });

  it('leaves nothing behind and no complete record when interrupted at random moments', async () => {
    const t0 = Date.now();
    await fresh();
    const full = Date.now() - t0;
    const before = new Set((await service.list({env: ENV, all: true})).map((l) => l.id));
    for (let i = 0; i < 5; i++) {
      const ac = new AbortController();
      const delay = Math.floor(Math.random() * full);
      let abortedAt = 0;
      const timer = setTimeout(() => {
        abortedAt = Date.now();
        ac.abort(new Error('killed by the test'));
      }, delay);
      const outcome = await service.create({env: ENV, signal: ac.signal}).then((r) => r, (e: unknown) => e as Error);
      clearTimeout(timer);
      // It stops promptly: every stream and child process honours the signal.
      if (abortedAt) expect(Date.now() - abortedAt, `abort after ${delay} ms`).toBeLessThan(3000);
      const run = 'run' in outcome ? outcome.run : undefined;
      const created = (await service.list({env: ENV, all: true})).filter((l) => !before.has(l.id));
      for (const c of created) before.add(c.id);
      for (const c of created) {
        if (c.status === 'complete') {
          // Only when the run itself finished: then the backup must verify.
          expect(run?.state, `abort after ${delay} ms`).toBe('succeeded');
          expect((await service.verify(c.id, sig())).ok).toBe(true);
        } else {
          expect(c.status, `abort after ${delay} ms`).toBe('failed');
        }
      }
      await service.cleanup(sig());
      expect(await backend.leftovers(), `abort after ${delay} ms`).toEqual([]);
      // The dump folder and spooled logs go with the backup, whenever it stopped.
      expect(await fx.scratchLeftovers(), `abort after ${delay} ms`).toEqual([]);
    }
  });
});

describe('filesystem layout', () => {
  it('writes <root>/<project>/<env>/<id>/ and nothing else', async () => {
    const backend = await filesystemBackend();
    try {
      const {backup} = await fx.service(backend.storage).create({env: ENV, kind: 'daily', signal: sig()});
      const dir = backend.storage.location({project: PROJECT, env: ENV, id: backup!.id});
      expect(dir.endsWith(join(PROJECT, ENV, backup!.id))).toBe(true);
      expect(existsSync(`${dir}.partial`)).toBe(false);
      expect((await backend.storage.list({project: PROJECT, env: ENV, id: backup!.id}, sig())).map((f) => f.file))
        .toEqual(['database.dir.tar', 'filestore.tar.zst', 'logs.tar.zst', 'manifest.json']);
      // Parts written by zstd itself (into the storage's folder) are private like the others.
      for (const f of ['database.dir.tar', 'filestore.tar.zst', 'logs.tar.zst', 'manifest.json']) {
        expect((await stat(join(dir, f))).mode & 0o777, f).toBe(0o600);
      }
    } finally {
      await backend.stop();
    }
  });
});

describe('a killed backup\'s scratch folder', () => {
  it('is removed by the next backup\'s cleanup; a pending backup\'s is kept', async () => {
    const backend = await filesystemBackend();
    try {
      const service = fx.service(backend.storage);
      const done = await service.create({env: ENV, kind: 'daily', signal: sig()});
      // What a SIGKILLed backup leaves: its row pending with a run that ended, and its dump folder.
      const stale = join(fx.scratchDir, `backup-${done.backup!.id}`);
      await mkdir(join(stale, 'database.dir'), {recursive: true});
      await writeFile(join(stale, 'database.dir', 'toc.dat'), 'x');
      const unknown = join(fx.scratchDir, 'backup-00000000-0000-4000-8000-000000000000');
      await mkdir(unknown);
      const cleaned = await service.cleanup(sig());
      expect(cleaned.scratchRemoved).toEqual([stale]);
      expect(existsSync(stale)).toBe(false);
      // Not a backup of this state store and recent: kept until orphanAgeMs (24 h) passed.
      expect(existsSync(unknown)).toBe(true);
      const old = await fx.service(backend.storage, {orphanAgeMs: 0}).cleanup(sig());
      expect(old.scratchRemoved).toEqual([unknown]);
    } finally {
      await backend.stop();
    }
  });
});

describe('memory', () => {
  it('collects garbage once, after the parts are stored and before the manifest is written', async () => {
    const backend = await filesystemBackend();
    try {
      const envDir = dirname((backend.storage as FilesystemBackupStorage).dir({project: PROJECT, env: ENV, id: randomUUID()}));
      const seen: string[][] = [];
      const service = fx.service(backend.storage, {
        collectGarbage: () => {
          const partial = readdirSync(envDir).filter((d) => d.endsWith('.partial'));
          seen.push(partial.flatMap((d) => readdirSync(join(envDir, d))).sort());
        },
      });
      const {backup} = await service.create({env: ENV, kind: 'manual', signal: sig()});
      expect(backup!.status).toBe('complete');
      expect(seen).toEqual([[partFile('database', 'pg_dump-directory+tar'), PART_FILES.filestore, PART_FILES.logs].sort()]);
    } finally {
      await backend.stop();
    }
  });
});

describe('custom-format backups (container providers, and backups written before the directory format)', () => {
  it('are written, verified and restorable: pg_restore reads the decompressed dump', async () => {
    const backend = await filesystemBackend();
    try {
      const service = fx.service(backend.storage, {databaseFormat: 'pg_dump-custom+zstd'});
      const {backup} = await service.create({env: ENV, kind: 'daily', signal: sig()});
      const m = backup!.manifest as BackupManifest;
      expect(m.database.format).toBe('pg_dump-custom+zstd');
      expect(m.parts.find((p) => p.name === 'database')).toMatchObject({file: PART_FILES.database, compression: 'zstd'});
      const ref = {project: PROJECT, env: ENV, id: backup!.id};
      expect((await zstd(await backend.getRaw(ref, PART_FILES.database), 'decompress')).subarray(0, 5).toString()).toBe('PGDMP');
      const report = await service.verify(backup!.id, sig());
      expect(report).toMatchObject({ok: true, failureCount: 0});
      expect(report.database.tocEntries).toBeGreaterThan(10);
      const raw = await backend.getRaw(ref, PART_FILES.database);
      raw[Math.floor(raw.length / 2)]! ^= 0xff;
      await backend.putRaw(ref, PART_FILES.database, raw);
      const {failures} = await verifyFailures(service, backup!.id);
      expect(failures).toContainEqual(expect.objectContaining({part: 'database', problem: 'sha256-mismatch'}));
    } finally {
      await backend.stop();
    }
  });
});
