import {Readable} from 'node:stream';
import {describe, expect, it} from 'vitest';
import {expectSameBytes} from '../../../src/core/backup/backup-pipeline.js';
import {ProviderError} from '../../../src/core/errors.js';

const chunks = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));
const expected = Buffer.from('{"id":"b1","files":[1,2,3]}\n');

describe('manifest read-back (expectSameBytes)', () => {
  it('accepts the same bytes however they are chunked', async () => {
    await expectSameBytes(chunks('{"id":"b1",', '"files":[1,2,3]}', '\n'), expected, 'manifest.json');
    await expectSameBytes(chunks(expected.toString()), expected, 'manifest.json');
  });

  it.each([
    ['one byte changed', ['{"id":"b2","files":[1,2,3]}\n'], /from byte 0/],
    ['a change in a later chunk', ['{"id":"b1",', '"files":[1,2,4]}\n'], /from byte 11/],
    ['truncated', ['{"id":"b1","files":[1,2,3]}'], /27 of 28 bytes/],
    ['longer', ['{"id":"b1","files":[1,2,3]}\n', 'x'], /from byte 28/],
    ['empty', [], /0 of 28 bytes/],
  ])('refuses %s, naming what was read', async (_name, parts, message) => {
    const err = await expectSameBytes(chunks(...parts), expected, 'backup x: manifest.json read back').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toMatch(/^backup x: manifest\.json read back differs from what was written/);
    expect((err as Error).message).toMatch(message);
  });
});
