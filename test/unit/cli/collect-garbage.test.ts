import {describe, expect, it} from 'vitest';
import {garbageCollector} from '../../../src/cli/collect-garbage.js';

describe('garbageCollector', () => {
  it('gives V8\'s full GC (the same function every time), which frees what nothing references', async () => {
    const gc = garbageCollector();
    expect(typeof gc).toBe('function');
    expect(garbageCollector()).toBe(gc);
    let garbage: object[] | null = Array.from({length: 300_000}, (_, i) => ({i, s: `x${i}`}));
    const ref = new WeakRef(garbage);
    garbage = null;
    await new Promise((resolve) => setImmediate(resolve)); // a WeakRef holds its target until the job ends
    gc!();
    expect(ref.deref()).toBeUndefined();
  });
});
