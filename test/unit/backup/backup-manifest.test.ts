import {describe, expect, it} from 'vitest';
import {
  DATABASE_FORMATS, DUMP_DIRECTORY_MEMBER, partFile, validateManifest, type BackupManifest, type DatabaseFormat,
} from '../../../src/core/backup/backup-manifest.js';
import {dumpMemberOrder} from '../../../src/core/backup/backup-pipeline.js';
import {UsageError} from '../../../src/core/errors.js';

const HASH = 'a'.repeat(64);

function manifest(format: DatabaseFormat, over: {database?: Partial<BackupManifest['parts'][number]>} = {}): BackupManifest {
  return {
    formatVersion: 1, id: '00000000-0000-4000-8000-000000000001', project: 'shop', env: 'production', kind: 'daily', release: null,
    odoo: {version: '17.0', modules: {base: '17.0.1.3'}},
    database: {name: 'shop_production', sizeBytes: 10, pgVersion: '15.18', format},
    parts: [
      {name: 'database', file: partFile('database', format), sizeBytes: 1, sha256: HASH, compression: DATABASE_FORMATS[format].compression, ...over.database},
      {name: 'filestore', file: 'filestore.tar.zst', sizeBytes: 1, sha256: HASH, compression: 'zstd'},
    ],
    filestore: {files: 0, bytes: 0, entries: []},
    tools: {}, createdAt: '2026-11-21T00:00:00Z', completedAt: '2026-11-21T00:01:00Z',
  };
}

const refused = (m: unknown) => {
  try {
    validateManifest(m);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('backup manifest: database formats', () => {
  it('accepts both formats with their own file and compression', () => {
    expect(validateManifest(manifest('pg_dump-directory+tar')).parts[0]).toMatchObject({file: 'database.dir.tar', compression: 'none'});
    expect(validateManifest(manifest('pg_dump-custom+zstd')).parts[0]).toMatchObject({file: 'database.dump.zst', compression: 'zstd'});
  });

  it('refuses an unknown format, a file of the other format, and a compression that does not match', () => {
    expect(refused({...manifest('pg_dump-custom+zstd'), database: {name: 'x', sizeBytes: 1, pgVersion: '15', format: 'pg_dump-plain'}}))
      .toMatch(/database\.format "pg_dump-plain" \(this release reads pg_dump-directory\+tar, pg_dump-custom\+zstd\)/);
    expect(refused(manifest('pg_dump-directory+tar', {database: {file: 'database.dump.zst'}}))).toMatch(/unknown part "database" \(file "database.dump.zst"\)/);
    expect(refused(manifest('pg_dump-directory+tar', {database: {compression: 'zstd'}}))).toMatch(/part database has compression "zstd", not none/);
    expect(refused(manifest('pg_dump-custom+zstd', {database: {compression: 'none'}}))).toMatch(/part database has compression "none", not zstd/);
  });

  it('knows the files pg_dump --format=directory writes, and nothing else', () => {
    for (const ok of ['toc.dat', '3342.dat.gz', '3342.dat', '12.dat.lz4', '7.dat.zst', 'blobs.toc', 'blobs_3345.toc', 'blob_16392.dat.gz']) {
      expect(DUMP_DIRECTORY_MEMBER.test(ok), ok).toBe(true);
    }
    for (const bad of ['../toc.dat', 'sub/1.dat.gz', 'toc.dat.bak', 'x.dat.gz', '.toc.dat', '1.dat.gz/', 'notes.txt', '']) {
      expect(DUMP_DIRECTORY_MEMBER.test(bad), bad).toBe(false);
    }
  });

  it('stores toc.dat first, then the data files by name', () => {
    expect(['3343.dat.gz', 'blobs.toc', 'toc.dat', '3342.dat.gz'].sort(dumpMemberOrder)).toEqual(['toc.dat', '3342.dat.gz', '3343.dat.gz', 'blobs.toc']);
  });
});
