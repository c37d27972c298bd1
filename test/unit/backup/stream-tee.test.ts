import {randomBytes} from 'node:crypto';
import {PassThrough, Readable, Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {describe, expect, it} from 'vitest';
import {InterruptedError, ProviderError} from '../../../src/core/errors.js';
import {Tee, zstdPipeline} from '../../../src/core/backup/stream-tee.js';
import {HashSink} from '../../../src/core/storage/hashing-stream.js';

async function collect(source: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A slow sink (backpressure) that keeps what it gets. */
function slowSink(): Writable & {data: () => Buffer} {
  const chunks: Buffer[] = [];
  const w = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _e, cb) {
      chunks.push(chunk);
      setImmediate(cb);
    },
  }) as Writable & {data: () => Buffer};
  w.data = () => Buffer.concat(chunks);
  return w;
}

describe('Tee', () => {
  it('writes everything to every target, at the slowest one\'s pace', async () => {
    const data = randomBytes(300_000);
    const a = slowSink();
    const b = new HashSink();
    await pipeline(Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]), new Tee([a, b]));
    expect(a.data().equals(data)).toBe(true);
    expect(b.bytes).toBe(data.length);
  });

  it('drops a tolerant target that fails and goes on with the others', async () => {
    const broken = new Writable({write(_c, _e, cb) { cb(new Error('nope')); }});
    const ok = new HashSink();
    const tee = new Tee([ok, {stream: broken, tolerant: true}]);
    await pipeline(Readable.from([Buffer.alloc(10_000), Buffer.alloc(10_000)]), tee);
    expect(ok.bytes).toBe(20_000);
    expect(tee.droppedErrors.map((e) => e.message)).toEqual(['nope']);
  });

  it('fails when a strict target fails', async () => {
    const broken = new Writable({write(_c, _e, cb) { cb(new Error('disk full')); }});
    await expect(pipeline(Readable.from([Buffer.alloc(10)]), new Tee([new HashSink(), broken]))).rejects.toThrow('disk full');
  });
});

describe('zstdPipeline', () => {
  it('compresses and decompresses a stream, with a tap on the input', async () => {
    const data = Buffer.concat([randomBytes(200_000), Buffer.alloc(500_000, 1)]);
    const tap = new HashSink();
    const compressed = await zstdPipeline({
      mode: 'compress', label: 't', signal: AbortSignal.timeout(10_000), tap,
      produce: (sink) => pipeline(Readable.from([data]), sink),
      consume: (out) => collect(out),
    });
    expect(compressed.length).toBeLessThan(data.length);
    expect(tap.bytes).toBe(data.length);
    const back = await zstdPipeline({
      mode: 'decompress', label: 't', signal: AbortSignal.timeout(10_000),
      produce: (sink) => pipeline(Readable.from([compressed]), sink),
      consume: (out) => collect(out),
    });
    expect(back.equals(data)).toBe(true);
  });

  it('fails with the first error and stops the others (a consumer failing)', async () => {
    const endless = new PassThrough();
    const err = await zstdPipeline({
      mode: 'compress', label: 't', signal: AbortSignal.timeout(10_000),
      produce: async (sink, signal) => {
        while (!signal.aborted) {
          if (!sink.write(randomBytes(65536))) await new Promise((r) => setTimeout(r, 5));
        }
        endless.destroy();
      },
      consume: async () => {
        throw new ProviderError('storage is gone');
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toBe('storage is gone');
  });

  it('reports corrupt input when decompressing, and an interruption as such', async () => {
    await expect(zstdPipeline({
      mode: 'decompress', label: 'verify x', signal: AbortSignal.timeout(10_000),
      produce: (sink) => pipeline(Readable.from([Buffer.from('definitely not zstd')]), sink),
      consume: (out) => collect(out),
    })).rejects.toThrow(/verify x: zstd exited with status/);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(zstdPipeline({
      mode: 'compress', label: 't', signal: ac.signal,
      produce: async (sink, signal) => {
        while (!signal.aborted) if (!sink.write(randomBytes(65536))) await new Promise((r) => setTimeout(r, 5));
      },
      consume: (out) => collect(out),
    })).rejects.toBeInstanceOf(InterruptedError);
  });
});
