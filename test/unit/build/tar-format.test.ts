import {createHash} from 'node:crypto';
import {Readable} from 'node:stream';
import {Parser, type ReadEntry} from 'tar';
import {describe, expect, it} from 'vitest';
import {TAR_BLOCK, tarHeader, tarOf} from '../../../src/core/build/tar-format.js';

interface Parsed {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  content: string;
}

/** Reads a tar back with node-tar (an independent reader). */
async function parse(tar: Buffer): Promise<Parsed[]> {
  const out: Parsed[] = [];
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => out.push({
          path: entry.path, type: entry.type, mode: entry.mode ?? -1, uid: entry.uid ?? -1, gid: entry.gid ?? -1,
          mtime: (entry.mtime?.getTime() ?? -1000) / 1000, content: Buffer.concat(chunks).toString('utf8'),
        }));
      },
    });
    parser.on('error', reject);
    parser.on('end', () => resolve());
    Readable.from([tar]).pipe(parser);
  });
  return out;
}

const meta = {mtime: 7, uid: 0, gid: 0};
const dir = (path: string) => ({entry: {type: 'dir' as const, path, mode: 0o755, ...meta}});
const file = (path: string, content: string, mode = 0o644) => ({entry: {type: 'file' as const, path, mode, ...meta}, content: Buffer.from(content)});

describe('tar writer', () => {
  it('writes entries a standard reader reads back exactly (type, mode, owner, mtime, content)', async () => {
    const tar = tarOf([dir('opt'), file('opt/a.py', 'print(1)\n'), file('opt/run', '#!/bin/sh\n', 0o755), file('opt/empty', '')]);
    expect(tar.length % TAR_BLOCK).toBe(0);
    expect(await parse(tar)).toEqual([
      {path: 'opt/', type: 'Directory', mode: 0o755, uid: 0, gid: 0, mtime: 7, content: ''},
      {path: 'opt/a.py', type: 'File', mode: 0o644, uid: 0, gid: 0, mtime: 7, content: 'print(1)\n'},
      {path: 'opt/run', type: 'File', mode: 0o755, uid: 0, gid: 0, mtime: 7, content: '#!/bin/sh\n'},
      {path: 'opt/empty', type: 'File', mode: 0o644, uid: 0, gid: 0, mtime: 7, content: ''},
    ]);
  });

  it('long paths: the ustar prefix field, then a PAX record when even that does not fit', async () => {
    const prefixed = `${'d'.repeat(120)}/${'f'.repeat(90)}.py`;
    const pax = `${'x'.repeat(40)}/${'y'.repeat(200)}.py`;
    const unicode = `opt/${'é'.repeat(60)}/m.py`;
    const tar = tarOf([file(prefixed, 'a'), file(pax, 'b'), file(unicode, 'c')]);
    expect((await parse(tar)).map((e) => [e.path, e.content])).toEqual([[prefixed, 'a'], [pax, 'b'], [unicode, 'c']]);
    expect(tarHeader({type: 'file', path: prefixed, mode: 0o644, ...meta}, 1).length).toBe(TAR_BLOCK);
    expect(tarHeader({type: 'file', path: pax, mode: 0o644, ...meta}, 1).length).toBe(3 * TAR_BLOCK);
  });

  it('is deterministic: the same entries give the same bytes', () => {
    const entries = () => [dir('a'), file('a/b', 'x'), file(`a/${'z'.repeat(300)}`, 'y')];
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(digest(tarOf(entries()))).toBe(digest(tarOf(entries())));
  });

  it('refuses bad paths and directories with content', () => {
    expect(() => tarHeader({type: 'file', path: '/abs', mode: 0o644, ...meta}, 0)).toThrow(/bad entry path/);
    expect(() => tarHeader({type: 'dir', path: 'd/', mode: 0o755, ...meta}, 0)).toThrow(/bad entry path/);
    expect(() => tarHeader({type: 'dir', path: 'd', mode: 0o755, ...meta}, 3)).toThrow(/no content/);
  });
});
