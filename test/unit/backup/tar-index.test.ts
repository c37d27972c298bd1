import {execa} from 'execa';
import {createHash} from 'node:crypto';
import {mkdir, mkdtemp, rm, symlink, writeFile, link} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {normalizeTarPath, TarIndexer} from '../../../src/core/backup/tar-index.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

async function index(tar: Buffer, chunk = 777): Promise<TarIndexer> {
  const indexer = new TarIndexer();
  const chunks: Buffer[] = [];
  for (let i = 0; i < tar.length; i += chunk) chunks.push(tar.subarray(i, i + chunk));
  await pipeline(Readable.from(chunks), indexer);
  return indexer;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tar-index-'));
  await mkdir(join(dir, 'fs', 'ab'), {recursive: true});
  await mkdir(join(dir, 'fs', 'checklist', 'ab'), {recursive: true});
  await writeFile(join(dir, 'fs', 'ab', 'ab12'), 'hello');
  await writeFile(join(dir, 'fs', 'ab', 'big'), Buffer.alloc(100_000, 7));
  await writeFile(join(dir, 'fs', 'checklist', 'ab', 'ab12'), '');
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

const gnuTar = async (folder: string): Promise<Buffer> =>
  Buffer.from((await execa('tar', ['--create', '--file=-', '--format=posix', '--directory', folder, '.'], {encoding: 'buffer'})).stdout);

describe('TarIndexer', () => {
  it('records every regular file with its size and sha256, paths without ./', async () => {
    const idx = await index(await gnuTar(join(dir, 'fs')));
    expect(idx.files).toEqual([
      {path: 'ab/ab12', size: 5, sha256: sha('hello')},
      {path: 'ab/big', size: 100_000, sha256: sha(Buffer.alloc(100_000, 7))},
      {path: 'checklist/ab/ab12', size: 0, sha256: sha('')},
    ]);
    expect(idx.problems).toEqual([]);
    expect(idx.others).toEqual([]);
    expect(idx.directories).toBeGreaterThan(0);
  });

  it('accepts an empty archive (zero blocks only), as tar writes for a missing filestore', async () => {
    const empty = Buffer.from((await execa('tar', ['--create', '--file=-', '--format=posix', '--files-from', '/dev/null'], {encoding: 'buffer'})).stdout);
    for (const tar of [empty, Buffer.alloc(1024)]) {
      const idx = await index(tar);
      expect(idx.files).toEqual([]);
      expect(idx.problems).toEqual([]);
    }
  });

  it('reports a truncated archive and garbage', async () => {
    const tar = await gnuTar(join(dir, 'fs'));
    expect((await index(tar.subarray(0, 3000))).problems.join()).toMatch(/TAR_BAD_ARCHIVE/);
    // Cut at a block boundary: every entry read so far is fine, only the end marker is missing.
    expect((await index(tar.subarray(0, 1536))).problems.join()).toMatch(/no end-of-archive marker/);
    expect((await index(Buffer.from('not a tar at all, '.repeat(100)))).problems.length).toBeGreaterThan(0);
  });

  it('keeps symbolic links apart and gives hard links the hash of their target', async () => {
    const other = join(dir, 'links');
    await mkdir(other, {recursive: true});
    await writeFile(join(other, 'a'), 'data');
    await link(join(other, 'a'), join(other, 'b'));
    await symlink('/etc/passwd', join(other, 'evil'));
    const idx = await index(await gnuTar(other));
    expect(idx.files).toEqual([{path: 'a', size: 4, sha256: sha('data')}, {path: 'b', size: 4, sha256: sha('data')}]);
    expect(idx.others).toEqual([{path: 'evil', type: 'SymbolicLink'}]);
  });

  it('reads pax long names and, with withSha1, gives each file its sha1 too', async () => {
    const other = join(dir, 'long');
    const deep = join(other, 'a'.repeat(60), 'b'.repeat(60));
    await mkdir(deep, {recursive: true});
    await writeFile(join(deep, 'c'.repeat(80)), 'long');
    await writeFile(join(other, 'short'), 'x');
    const indexer = new TarIndexer(undefined, {withSha1: true});
    const tar = await gnuTar(other);
    await pipeline(Readable.from([tar.subarray(0, 700), tar.subarray(700)]), indexer);
    const sha1 = (v: string) => createHash('sha1').update(v).digest('hex');
    expect(indexer.files).toEqual([
      {path: `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(80)}`, size: 4, sha256: sha('long'), sha1: sha1('long')},
      {path: 'short', size: 1, sha256: sha('x'), sha1: sha1('x')},
    ]);
    expect(indexer.problems).toEqual([]);
  });

  it('with withSha256: false gives sha1 only (a restore), and refuses to list manifest entries', async () => {
    const indexer = new TarIndexer(undefined, {withSha1: true, withSha256: false});
    await pipeline(Readable.from([await gnuTar(join(dir, 'fs'))]), indexer);
    const sha1 = (v: string | Buffer) => createHash('sha1').update(v).digest('hex');
    expect(indexer.fileMap.get('ab/ab12')).toEqual({path: 'ab/ab12', size: 5, sha1: sha1('hello')});
    expect(indexer.fileMap.get('ab/big')).toEqual({path: 'ab/big', size: 100_000, sha1: sha1(Buffer.alloc(100_000, 7))});
    expect(indexer.fileMap.get('checklist/ab/ab12')).toEqual({path: 'checklist/ab/ab12', size: 0, sha1: sha1('')});
    expect(() => indexer.files).toThrow(/withSha256/);
  });

  it('keeps the content of the file named by capture (split across chunks), and refuses one over its bound', async () => {
    const tar = await gnuTar(join(dir, 'fs'));
    const chunks: Buffer[] = [];
    for (let i = 0; i < tar.length; i += 333) chunks.push(tar.subarray(i, i + 333));
    const kept = new TarIndexer(undefined, {withSha256: false, capture: {path: 'ab/big', maxBytes: 100_000}});
    await pipeline(Readable.from(chunks), kept);
    expect(kept.captured).toEqual(Buffer.alloc(100_000, 7));
    expect(kept.problems).toEqual([]);
    const empty = new TarIndexer(undefined, {capture: {path: 'checklist/ab/ab12', maxBytes: 10}});
    await pipeline(Readable.from([tar]), empty);
    expect(empty.captured).toEqual(Buffer.alloc(0));
    const absent = new TarIndexer(undefined, {capture: {path: 'toc.dat', maxBytes: 10}});
    await pipeline(Readable.from([tar]), absent);
    expect(absent.captured).toBeNull();
    const tooBig = new TarIndexer(undefined, {capture: {path: 'ab/big', maxBytes: 99_999}});
    await pipeline(Readable.from([tar]), tooBig);
    expect(tooBig.captured).toBeNull();
    expect(tooBig.problems).toEqual(['ab/big is 100000 bytes, more than the 99999 expected']);
  });

  it('normalizes paths', () => {
    expect(normalizeTarPath('./ab/ab12')).toBe('ab/ab12');
    expect(normalizeTarPath('./')).toBe('');
    expect(normalizeTarPath('.')).toBe('');
    expect(normalizeTarPath('ab/')).toBe('ab');
  });
});
