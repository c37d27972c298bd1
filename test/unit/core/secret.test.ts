import {inspect} from 'node:util';
import {describe, expect, it} from 'vitest';
import {redact, Secret} from '../../../src/core/secret.js';

describe('Secret', () => {
  it('never prints its value', () => {
    const s = new Secret('hunter2', 'env:PW');
    expect(String(s)).toBe('[REDACTED]');
    expect(JSON.stringify({s})).toBe('{"s":"[REDACTED]"}');
    expect(inspect({s})).not.toContain('hunter2');
    expect(s.reveal()).toBe('hunter2');
  });

  it('redact replaces secrets deep in plain data and keeps dates and other objects', () => {
    const at = new Date('2026-01-02T03:04:05Z');
    const out = redact({a: [new Secret('x')], b: {c: new Secret('y'), at}, n: 1});
    expect(out).toEqual({a: ['[REDACTED]'], b: {c: '[REDACTED]', at}, n: 1});
    expect(out.b.at).toBeInstanceOf(Date);
  });
});
