// A minimal tar reader for tests: regular files of a ustar/pax archive → sha256 of their content.
import {createHash} from 'node:crypto';
import {PassThrough, type Writable} from 'node:stream';

function field(block: Buffer, start: number, len: number): string {
  const raw = block.subarray(start, start + len);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? len : end).toString('utf8');
}

function paxPath(data: Buffer): string | undefined {
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space === -1) break;
    const len = Number(data.subarray(i, space).toString());
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') return record.slice(eq + 1);
    i += len;
  }
  return undefined;
}

/** name (without a leading ./) → sha256 hex of each regular file. */
export function tarEntries(tar: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  let nextPath: string | undefined;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const name = field(header, 0, 100);
    const prefix = field(header, 345, 155);
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0x30);
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      nextPath = paxPath(data);
      continue;
    }
    if (type === 'g') continue;
    const path = (nextPath ?? (prefix ? `${prefix}/${name}` : name)).replace(/^\.\//, '');
    nextPath = undefined;
    if (type === '0' || type === '\0') out.set(path, createHash('sha256').update(data).digest('hex'));
  }
  return out;
}

/** A writable sink collecting everything written, and a promise of the whole buffer. */
export function collector(): {sink: Writable; done: Promise<Buffer>} {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    sink.on('end', () => resolve(Buffer.concat(chunks)));
    sink.on('error', reject);
  });
  return {sink, done};
}
