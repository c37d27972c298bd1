import {describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {InternalError, UsageError} from '../../../src/core/errors.js';
import {nullLogger} from '../../../src/core/logger.js';
import {defaultRunTypes, RunTypeRegistry, type RunTypeHandler} from '../../../src/core/run/run-types.js';
import {Wakeup} from '../../../src/core/run/wakeup.js';

const handler = (type: string): RunTypeHandler => ({type, execute: async () => undefined});

describe('RunTypeRegistry', () => {
  it('registers, lists sorted, and refuses duplicates and bad names', () => {
    const reg = new RunTypeRegistry([handler('b'), handler('a')]);
    expect(reg.types).toEqual(['a', 'b']);
    expect(reg.register(handler('c'))).toBe(reg);
    expect(() => reg.register(handler('a'))).toThrow(InternalError);
    expect(() => reg.register(handler('Bad Name'))).toThrow(InternalError);
  });

  it('require() names the known types for an unknown one', () => {
    const reg = new RunTypeRegistry([handler('doctor'), handler('deploy')]);
    expect(reg.require('doctor').type).toBe('doctor');
    expect(() => reg.require('nope')).toThrow(UsageError);
    expect(() => reg.require('nope')).toThrow('unknown run type "nope"; known types: deploy, doctor');
  });

  it('defaultRunTypes builds a fresh registry each time (no shared singleton)', () => {
    const deps = {pool: undefined as never, config: {odoo: {}, provider: {name: 'local'}, postgres: {}, state: {}}, clock: systemClock, logger: nullLogger};
    const a = defaultRunTypes(deps);
    const b = defaultRunTypes(deps);
    a.register(handler('extra'));
    expect(a.types).toEqual(['doctor', 'extra']);
    expect(b.types).toEqual(['doctor']);
  });
});

describe('Wakeup', () => {
  it('returns at once for a notify that came before the wait, then waits again', async () => {
    const w = new Wakeup(systemClock);
    w.notify();
    const t0 = Date.now();
    await w.wait(5000);
    expect(Date.now() - t0).toBeLessThan(100);
    const t1 = Date.now();
    await w.wait(50);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(40);
  });

  it('wakes a waiting loop on notify and on abort', async () => {
    const w = new Wakeup(systemClock);
    const t0 = Date.now();
    setTimeout(() => w.notify(), 20);
    await w.wait(5000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await w.wait(5000, ac.signal);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
