// The BackupStorage contract on both backends (a folder; s3rver over HTTP): nothing is visible
// before commit, the manifest comes last, removal and the cleanup of incomplete writes.
import {ListMultipartUploadsCommand} from '@aws-sdk/client-s3';
import {createHash, randomBytes, randomUUID} from 'node:crypto';
import {appendFile, stat, truncate, writeFile} from 'node:fs/promises';
import {setTimeout as sleep} from 'node:timers/promises';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {ConflictError, InternalError, InterruptedError, NotFoundError} from '../../../src/core/errors.js';
import {cleanupIncomplete, type BackupRef} from '../../../src/core/storage/backup-storage.js';
import {FilesystemBackupStorage} from '../../../src/core/storage/filesystem-storage.js';
import {filesystemBackend, s3Backend, sig, type Backend} from './backup-fixture.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ref = (): BackupRef => ({project: 'shop', env: 'production', id: randomUUID()});

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe.each([
  ['filesystem', filesystemBackend],
  ['s3', s3Backend],
] as const)('BackupStorage on %s', (_name, make) => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await make();
  });
  afterAll(async () => {
    await backend?.stop();
  });

  it('streams files in with their sha256; visible only after the manifest is written and committed', async () => {
    const r = ref();
    const s = backend.storage;
    const w = await s.create(r, sig());
    const big = randomBytes(11 * 1024 * 1024); // above one S3 part: multipart
    const stored = await w.put('database.dump.zst', Readable.from([big.subarray(0, 3e6), big.subarray(3e6)]), sig());
    expect(stored).toEqual({file: 'database.dump.zst', sizeBytes: big.length, sha256: sha(big)});
    expect(await s.list(r, sig())).toEqual([]);
    await expect(s.read(r, 'database.dump.zst', sig())).rejects.toBeInstanceOf(NotFoundError);
    await expect(w.commit(sig())).rejects.toBeInstanceOf(InternalError); // no manifest yet
    await w.put('manifest.json', Readable.from([Buffer.from('{}')]), sig());
    await expect(w.put('late.bin', Readable.from([Buffer.from('x')]), sig())).rejects.toBeInstanceOf(InternalError);
    await w.commit(sig());
    expect(await s.list(r, sig())).toEqual([{file: 'database.dump.zst', sizeBytes: big.length}, {file: 'manifest.json', sizeBytes: 2}]);
    expect(sha(await readAll(await s.read(r, 'database.dump.zst', sig())))).toBe(sha(big));
    await expect(s.create(r, sig())).rejects.toBeInstanceOf(ConflictError);
    expect(await s.listIncomplete('shop', sig())).toEqual([]);
    expect(await s.remove(r, sig())).toEqual({removed: true});
    expect(await s.remove(r, sig())).toEqual({removed: false});
    expect(await s.list(r, sig())).toEqual([]);
  });

  it('abort() removes what was written; an interrupted put leaves no open upload', async () => {
    const s = backend.storage;
    const r = ref();
    const w = await s.create(r, sig());
    await w.put('logs.tar.zst', Readable.from([Buffer.from('logs')]), sig());
    const ac = new AbortController();
    async function* slow() {
      for (let i = 0; i < 40; i++) {
        if (i === 2) ac.abort();
        yield randomBytes(1024 * 1024);
        await new Promise((res) => setTimeout(res, 10));
      }
    }
    await expect(w.put('filestore.tar.zst', Readable.from(slow()), ac.signal)).rejects.toBeInstanceOf(InterruptedError);
    await w.abort();
    expect(await backend.leftovers()).toEqual([]);
  });

  it('lists the leftovers of a write that never finished, and cleans up dead or old ones only', async () => {
    const s = backend.storage;
    const [dead, live, old] = [ref(), ref(), ref()];
    for (const r of [dead, live, old]) {
      const w = await s.create(r, sig());
      await w.put('database.dump.zst', Readable.from([randomBytes(1000)]), sig());
      // no commit, no abort: as a killed process leaves it
    }
    const found = await s.listIncomplete('shop', sig());
    expect(new Set(found.map((f) => f.id))).toEqual(new Set([dead.id, live.id, old.id]));
    expect(found.every((f) => f.env === 'production' && f.modifiedAt.getTime() > Date.now() - 60_000)).toBe(true);
    const first = await cleanupIncomplete(s, 'shop', {olderThan: new Date(Date.now() - 3600_000), remove: new Set([dead.id]), keep: new Set([live.id])}, sig());
    expect(first.removed.map((i) => i.id)).toEqual([dead.id]);
    const second = await cleanupIncomplete(s, 'shop', {olderThan: new Date(Date.now() + 1000), keep: new Set([live.id])}, sig());
    expect(second.removed.map((i) => i.id)).toEqual([old.id]);
    expect((await s.listIncomplete('shop', sig())).map((i) => i.id)).toEqual([live.id]);
    await s.remove(live, sig());
    expect(await backend.leftovers()).toEqual([]);
  });
});

describe('S3 multipart uploads left open', () => {
  it('are found by listIncomplete and aborted by removeIncomplete', async () => {
    const backend = await s3Backend();
    try {
      const s = backend.storage as import('../../../src/core/storage/s3-storage.js').S3BackupStorage;
      const r = ref();
      const {CreateMultipartUploadCommand} = await import('@aws-sdk/client-s3');
      await s.client.send(new CreateMultipartUploadCommand({Bucket: s.bucket, Key: `${s.prefixOf(r)}filestore.tar.zst`}));
      const found = await s.listIncomplete('shop', sig());
      expect(found).toEqual([expect.objectContaining({id: r.id, kind: 'multipart-upload', where: `${s.prefixOf(r)}filestore.tar.zst`})]);
      await s.removeIncomplete(found[0]!, sig());
      expect((await s.client.send(new ListMultipartUploadsCommand({Bucket: s.bucket}))).Uploads ?? []).toEqual([]);
    } finally {
      await backend.stop();
    }
  });
});

describe('filesystem storage: a part written by another program (putWritten)', () => {
  it('stores the file the program wrote with its size, sha256 and mode 0600; refuses the manifest and an existing file', async () => {
    const backend = await filesystemBackend();
    try {
      const s = backend.storage;
      const r = ref();
      const w = await s.create(r, sig());
      const data = randomBytes(3 * 1024 * 1024 + 17); // several read-back buffers
      const stored = await w.putWritten!('filestore.tar.zst', async (path) => {
        await writeFile(path, data, {mode: 0o644});
      }, sig());
      expect(stored).toEqual({file: 'filestore.tar.zst', sizeBytes: data.length, sha256: sha(data)});
      await expect(w.putWritten!('filestore.tar.zst', async () => undefined, sig())).rejects.toBeInstanceOf(InternalError);
      await expect(w.putWritten!('manifest.json', async () => undefined, sig())).rejects.toBeInstanceOf(InternalError);
      // A program that fails leaves its error, and nothing is stored under that name.
      await expect(w.putWritten!('logs.tar.zst', async () => {
        throw new Error('zstd exited with status 1');
      }, sig())).rejects.toThrow('zstd exited with status 1');
      await w.put('manifest.json', Readable.from([Buffer.from('{}')]), sig());
      await w.commit(sig());
      expect(await s.list(r, sig())).toEqual([{file: 'filestore.tar.zst', sizeBytes: data.length}, {file: 'manifest.json', sizeBytes: 2}]);
      const dir = (s as FilesystemBackupStorage).dir(r);
      expect((await stat(join(dir, 'filestore.tar.zst'))).mode & 0o777).toBe(0o600);
      expect(sha(await readAll(await s.read(r, 'filestore.tar.zst', sig())))).toBe(sha(data));
    } finally {
      await backend.stop();
    }
  });
  it('hashes a file while a slow program appends to it, to its very end (past the 64 MiB flushes)', async () => {
    const backend = await filesystemBackend();
    try {
      const w = await backend.storage.create(ref(), sig());
      const chunks = Array.from({length: 34}, (_, i) => randomBytes(2 * 1024 * 1024 + i)); // > 64 MiB: a flush while writing
      const stored = await w.putWritten!('filestore.tar.zst', async (path) => {
        await sleep(30); // the follower waits for the file to appear
        await writeFile(path, Buffer.alloc(0));
        for (const c of chunks) {
          await appendFile(path, c);
          await sleep(2); // the follower catches up and waits for more
        }
        await sleep(20);
        await appendFile(path, 'the last bytes, after a pause');
      }, sig());
      const all = Buffer.concat([...chunks, Buffer.from('the last bytes, after a pause')]);
      expect(stored).toEqual({file: 'filestore.tar.zst', sizeBytes: all.length, sha256: sha(all)});
    } finally {
      await backend.stop();
    }
  });

  it('fails when the program fails mid-way, creates no file, or truncates what it wrote', async () => {
    const backend = await filesystemBackend();
    try {
      const w = await backend.storage.create(ref(), sig());
      await expect(w.putWritten!('a.tar.zst', async (path) => {
        await writeFile(path, randomBytes(1024 * 1024));
        await sleep(20);
        throw new Error('zstd exited with status 1: No space left on device');
      }, sig())).rejects.toThrow('No space left on device');
      await expect(w.putWritten!('b.tar.zst', async () => {
        await sleep(20);
      }, sig())).rejects.toThrow(/b\.tar\.zst.*ENOENT|ENOENT.*b\.tar\.zst/);
      await expect(w.putWritten!('c.tar.zst', async (path) => {
        await writeFile(path, randomBytes(1024 * 1024));
        await sleep(50); // read by now
        await truncate(path, 10);
      }, sig())).rejects.toThrow(/changed while it was read/);
      const stopped = new AbortController();
      const interrupted = w.putWritten!('d.tar.zst', async (path) => {
        await writeFile(path, randomBytes(1024));
        await sleep(200);
      }, stopped.signal);
      setTimeout(() => stopped.abort(new Error('SIGINT')), 30);
      await expect(interrupted).rejects.toBeInstanceOf(InterruptedError);
    } finally {
      await backend.stop();
    }
  });
});
