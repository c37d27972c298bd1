import {execa} from 'execa';
import {createWriteStream} from 'node:fs';
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {ZipReader, ZipWriter} from '../../../src/core/backup/odoo-zip-format.js';
import {DEFAULT_LIMITS, UnsafeArchiveError} from '../../../src/core/backup/safe-extract.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zip-'));
});
afterEach(async () => {
  await rm(dir, {recursive: true, force: true});
});

async function writeZip(file: string, entries: [string, Buffer][]): Promise<void> {
  const w = new ZipWriter(createWriteStream(file));
  for (const [name, data] of entries) await w.addFile(name, Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
  await w.finish();
}

async function readAll(r: ZipReader, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await r.openEntry(r.find(name)!)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const has = async (bin: string) => (await execa('which', [bin], {reject: false})).exitCode === 0;

describe('ZipWriter + ZipReader', () => {
  const files: [string, Buffer][] = [
    ['dump.sql', Buffer.from('CREATE TABLE x (id int);\n'.repeat(5000))],
    ['manifest.json', Buffer.from('{"odoo_dump": "1"}')],
    ['filestore/ab/ab12', Buffer.from([0, 1, 2, 255])],
    ['filestore/empty', Buffer.alloc(0)],
    ['filestore/ünï.txt', Buffer.from('unicode')],
  ];

  it('round-trips entries byte for byte', async () => {
    const file = join(dir, 'a.zip');
    await writeZip(file, files);
    const r = await ZipReader.open(file);
    try {
      expect(r.entries.map((e) => e.name)).toEqual(files.map(([n]) => n));
      for (const [name, data] of files) expect((await readAll(r, name)).equals(data)).toBe(true);
    } finally {
      await r.close();
    }
  });

  it('is read by Info-ZIP unzip and by Python zipfile (what Odoo uses)', async () => {
    const file = join(dir, 'a.zip');
    await writeZip(file, files);
    if (await has('unzip')) {
      const t = await execa('unzip', ['-t', file]);
      expect(t.stdout).toMatch(/No errors detected/);
    }
    if (await has('python3')) {
      const py = await execa('python3', ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.read("dump.sql")))', file]);
      expect(py.stdout.trim()).toBe(String(files[0]![1].length));
    }
  });

  it('reads zips written by Info-ZIP zip', async () => {
    if (!(await has('zip'))) return;
    await writeFile(join(dir, 'f.txt'), 'from zip');
    await execa('zip', ['-q', '-r', 'z.zip', 'f.txt'], {cwd: dir});
    const r = await ZipReader.open(join(dir, 'z.zip'));
    expect((await readAll(r, 'f.txt')).toString()).toBe('from zip');
    await r.close();
  });
});

describe('ZipReader refuses hostile zips', () => {
  const refused = async (file: string, pattern: RegExp, limits = DEFAULT_LIMITS) => {
    const err = await ZipReader.open(file, limits).then(async (r) => { await r.close(); return null; }, (e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toMatch(pattern);
  };

  it.each([['../evil.txt'], ['filestore/../../evil'], ['/etc/evil']])('names like %j', async (name) => {
    const file = join(dir, 'h.zip');
    await writeZip(file, [['ok', Buffer.from('1')], [name, Buffer.from('x')]]);
    await refused(file, new RegExp(JSON.stringify(name).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
  });

  it('duplicate names', async () => {
    const file = join(dir, 'd.zip');
    await writeZip(file, [['a', Buffer.from('1')], ['./a', Buffer.from('2')]]);
    await refused(file, /duplicate/);
  });

  it('symlink entries (unix mode in the external attributes)', async () => {
    const file = join(dir, 's.zip');
    await writeZip(file, [['link', Buffer.from('../../etc/passwd')]]);
    const buf = await readFile(file);
    const cd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    buf.writeUInt32LE((0o120777 << 16) >>> 0, cd + 38);
    await writeFile(file, buf);
    await refused(file, /"link".*symbolic links/);
  });

  it('a declared decompression ratio over the bound, and an entry expanding past its declared size', async () => {
    const file = join(dir, 'b.zip');
    await writeZip(file, [['zeros', Buffer.alloc(8 * 2 ** 20)]]);
    await refused(file, /ratio over 200:1/, {...DEFAULT_LIMITS, ratioFloorBytes: 2 ** 20});
    // Lie about the size: the stream stops at the declared size.
    const buf = await readFile(file);
    const cd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    buf.writeUInt32LE(1000, cd + 24);
    await writeFile(file, buf);
    const r = await ZipReader.open(file);
    await expect(readAll(r, 'zeros')).rejects.toThrow(/expands past its declared 1000 bytes/);
    await r.close();
  });

  it('corrupt data (crc mismatch) and files that are not zips', async () => {
    const file = join(dir, 'c.zip');
    await writeZip(file, [['a.txt', Buffer.from('hello hello hello')]]);
    const buf = await readFile(file);
    buf[57] = (buf[57] ?? 0) ^ 0xff; // a byte of the deflated data (30 + 5 name + 20 extra + 2)
    await writeFile(file, buf);
    const r = await ZipReader.open(file);
    await expect(readAll(r, 'a.txt')).rejects.toThrow(UnsafeArchiveError);
    await r.close();
    await writeFile(join(dir, 'n.zip'), 'not a zip at all');
    await refused(join(dir, 'n.zip'), /not a zip/);
  });
});
