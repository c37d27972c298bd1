import {existsSync} from 'node:fs';
import {mkdir, mkdtemp, readFile, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {constants, zstdCompressSync, createZstdDecompress} from 'node:zlib';
import {Header, Pax, c as tarCreate} from 'tar';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {DEFAULT_LIMITS, ExpansionMeter, extractTarSafely, safeEntryPath, tarGuard, UnsafeArchiveError} from '../../../src/core/backup/safe-extract.js';

/** A hand-made tar: entries as node-tar headers (any path, type, link) + content. */
type E = {path: string; type?: string; linkpath?: string; data?: Buffer; pax?: Record<string, string>; longName?: string};
function tarOf(entries: E[], opts: {end?: boolean} = {}): Buffer {
  const blocks: Buffer[] = [];
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
  for (const e of entries) {
    if (e.pax) {
      const body = Buffer.from(new Pax(e.pax as never).encodeBody());
      const h = Buffer.alloc(512);
      new Header({path: 'PaxHeader', type: 'ExtendedHeader', size: body.length, mode: 0o644, mtime: new Date(0)}).encode(h, 0);
      blocks.push(h, pad(body));
    }
    if (e.longName) {
      const body = Buffer.from(`${e.longName}\0`);
      const h = Buffer.alloc(512);
      new Header({path: '././@LongLink', type: 'NextFileHasLongPath', size: body.length, mode: 0o644, mtime: new Date(0)}).encode(h, 0);
      blocks.push(h, pad(body));
    }
    const data = e.data ?? Buffer.alloc(0);
    const h = Buffer.alloc(512);
    const type = e.type ?? 'File';
    new Header({path: e.path, type: type as never, size: type === 'File' ? data.length : 0, mode: type === 'Directory' ? 0o755 : 0o644, mtime: new Date(0), linkpath: e.linkpath ?? ''}).encode(h, 0);
    blocks.push(h);
    if (type === 'File' && data.length) blocks.push(pad(data));
  }
  if (opts.end !== false) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

let dir: string;
let root: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'safe-extract-'));
  root = join(dir, 'root', 'inner');
});
afterEach(async () => {
  await rm(dir, {recursive: true, force: true});
});

async function refused(buf: Buffer, entry: string, opts: Parameters<typeof extractTarSafely>[2] = {}) {
  const err = await extractTarSafely(Readable.from([buf]), root, opts).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(UnsafeArchiveError);
  expect((err as Error).message).toContain(JSON.stringify(entry));
  // Nothing outside the root.
  expect((await readdir(dir)).sort()).toEqual(['root']);
  expect(await readdir(join(dir, 'root'))).toEqual(['inner']);
  return err as UnsafeArchiveError;
}

describe('safeEntryPath', () => {
  it.each([['./a//b/', 'a/b'], ['a/./b', 'a/b'], ['.', ''], ['ab/ab12', 'ab/ab12']])('normalises %s', (raw, want) => {
    expect(safeEntryPath(raw)).toBe(want);
  });
  it.each(['../x', 'a/../../x', 'a/..', '/etc/passwd', 'a\0b'])('refuses %j', (raw) => {
    expect(() => safeEntryPath(raw)).toThrow(UnsafeArchiveError);
  });
});

describe('tarGuard', () => {
  const entries: E[] = [
    {path: 'a', type: 'Directory'},
    {path: 'a/one', data: Buffer.alloc(1000, 1)},
    {path: 'a/empty'},
    {path: 'a/two', data: Buffer.alloc(513, 2), pax: {path: 'a/two'}},
    {path: 'x', longName: `${'l'.repeat(150)}/three`, data: Buffer.from('three')},
  ];
  const chunked = (buf: Buffer, size: number) => {
    const out: Buffer[] = [];
    for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
    return out;
  };
  const through = async (chunks: Buffer[]) => {
    const got: Buffer[] = [];
    const guard = tarGuard();
    guard.on('data', (c: Buffer) => got.push(c));
    await pipeline(Readable.from(chunks), guard);
    return Buffer.concat(got);
  };

  it.each([1, 100, 511, 512, 513, 1000, 4096, 1 << 20])('passes an archive on unchanged, whatever the chunk size (%i)', async (size) => {
    const tar = tarOf(entries);
    expect((await through(chunked(tar, size))).equals(tar)).toBe(true);
  });

  it.each([1, 300, 512, 700, 1 << 20])('never passes a refused header on, whatever the chunk size (%i)', async (size) => {
    const good = tarOf(entries, {end: false});
    const tar = Buffer.concat([good, tarOf([{path: '../evil', data: Buffer.from('x')}])]);
    const got: Buffer[] = [];
    const guard = tarGuard();
    guard.on('data', (c: Buffer) => got.push(c));
    const err = await pipeline(Readable.from(chunked(tar, size)), guard).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    const passed = Buffer.concat(got);
    expect(passed.length).toBeLessThanOrEqual(good.length);
    expect(passed.equals(good.subarray(0, passed.length))).toBe(true);
  });
});

describe('extractTarSafely', () => {
  it('extracts an ordinary archive (files, folders, unicode, empty files) byte for byte', async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'ab', 'deep'), {recursive: true});
    await writeFile(join(src, 'ab', 'ab12'), 'hello');
    await writeFile(join(src, 'ab', 'deep', 'été.bin'), Buffer.alloc(70_000, 7));
    await writeFile(join(src, 'empty'), '');
    await writeFile(join(src, 'x'.repeat(150)), 'long name'); // needs a pax/long header
    const stream = tarCreate({cwd: src, portable: true}, ['.']) as unknown as Readable;
    const res = await extractTarSafely(stream, root);
    expect(res.entries).toBeGreaterThanOrEqual(6);
    expect(await readFile(join(root, 'ab', 'ab12'), 'utf8')).toBe('hello');
    expect((await readFile(join(root, 'ab', 'deep', 'été.bin'))).equals(Buffer.alloc(70_000, 7))).toBe(true);
    expect(await readFile(join(root, 'empty'), 'utf8')).toBe('');
    expect(await readFile(join(root, 'x'.repeat(150)), 'utf8')).toBe('long name');
  });

  it('refuses a ".." entry, even after good entries, and writes nothing outside the root', async () => {
    await refused(tarOf([{path: 'ok', data: Buffer.from('1')}, {path: '../evil', data: Buffer.from('x')}]), '../evil');
    await refused(tarOf([{path: 'a/../../evil', data: Buffer.from('x')}]), 'a/../../evil');
  });

  it('refuses absolute paths', async () => {
    await refused(tarOf([{path: `${dir}/evil`, data: Buffer.from('x')}]), `${dir}/evil`);
  });

  it('refuses a pax or GNU long name that escapes', async () => {
    await refused(tarOf([{path: 'innocent', pax: {path: '../../pax-evil'}, data: Buffer.from('x')}]), '../../pax-evil');
    await refused(tarOf([{path: 'innocent', longName: '../gnu-evil', data: Buffer.from('x')}]), '../gnu-evil');
  });

  it('refuses links that leave the root or are traversed', async () => {
    const allow = {allowLinks: true};
    await refused(tarOf([{path: 'l', type: 'SymbolicLink', linkpath: '../../..'}]), 'l', allow);
    await refused(tarOf([{path: 'l', type: 'SymbolicLink', linkpath: '/etc'}]), 'l', allow);
    await refused(tarOf([{path: 'h', type: 'Link', linkpath: '../outside'}]), 'h', allow);
    await refused(tarOf([{path: 'sub/up', type: 'SymbolicLink', linkpath: '..'}, {path: 'e', type: 'SymbolicLink', linkpath: 'sub/up/../x'}]), 'e', allow);
    await refused(tarOf([{path: 'l', type: 'SymbolicLink', linkpath: 'sub'}, {path: 'l/file', data: Buffer.from('x')}]), 'l/file', allow);
    // Links are refused altogether unless allowed (filestores have none).
    await refused(tarOf([{path: 'l', type: 'SymbolicLink', linkpath: 'inside'}]), 'l');
  });

  it('accepts a link that stays inside when links are allowed', async () => {
    await extractTarSafely(Readable.from([tarOf([{path: 'f', data: Buffer.from('x')}, {path: 'l', type: 'SymbolicLink', linkpath: 'f'}])]), root, {allowLinks: true});
    expect(await readFile(join(root, 'l'), 'utf8')).toBe('x');
  });

  it.each([['CharacterDevice'], ['BlockDevice'], ['FIFO']])('refuses %s entries', async (type) => {
    const err = await refused(tarOf([{path: 'dev', type}]), 'dev');
    expect(err.message).toContain(type);
  });

  it('refuses a bomb: decompression ratio over the bound (counted before zstd)', async () => {
    const big = tarOf([{path: 'zeros', data: Buffer.alloc(24 * 2 ** 20)}]);
    const compressed = zstdCompressSync(big, {params: {[constants.ZSTD_c_compressionLevel]: 3}});
    expect(compressed.length * 200).toBeLessThan(big.length);
    const meter = new ExpansionMeter({...DEFAULT_LIMITS, ratioFloorBytes: 2 ** 20});
    const source = Readable.from([compressed]).pipe(meter.counter()).pipe(createZstdDecompress());
    const err = await extractTarSafely(source, root, {meter}).then(() => null, (e: unknown) => e);
    expect((err as Error).message).toMatch(/ratio over 200:1/);
  });

  it('refuses an archive over the total size cap', async () => {
    const meter = new ExpansionMeter({...DEFAULT_LIMITS, maxTotalBytes: 100_000});
    await refused(tarOf([{path: 'big', data: Buffer.alloc(200_000, 1)}]), 'big', {meter});
  });

  it('refuses a truncated archive and a non-tar stream', async () => {
    const full = tarOf([{path: 'a', data: Buffer.alloc(5000, 1)}], {end: false});
    const err = await extractTarSafely(Readable.from([full.subarray(0, 2048)]), root).then(() => null, (e: unknown) => e);
    expect((err as Error).message).toMatch(/truncated/);
    const junk = await extractTarSafely(Readable.from([Buffer.alloc(1024, 0x41)]), join(dir, 'root', 'j')).then(() => null, (e: unknown) => e);
    expect((junk as Error).message).toMatch(/checksum/);
    expect(existsSync(join(dir, 'evil'))).toBe(false);
  });
});
