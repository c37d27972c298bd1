import {Readable} from 'node:stream';
import {describe, expect, it} from 'vitest';
import {guardTar} from '../../../src/core/backup/restore-source.js';

describe('guardTar', () => {
  it('an abort before a consumer attached to its stream rejects done and raises no uncaught error', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const ac = new AbortController();
      // A tar that never ends (its producer waits): the abort is what stops it.
      const raw = new Readable({read() {}});
      raw.push(Buffer.alloc(512));
      const guarded = guardTar(raw, {zstd: false, index: true, signal: ac.signal});
      ac.abort(new Error('test: stopped while the consumer was still preparing'));
      await expect(guarded.done).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 20)); // 'error' events are emitted on later ticks
      expect(uncaught).toEqual([]);
      expect(guarded.stream.destroyed).toBe(true);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
