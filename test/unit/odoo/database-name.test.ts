import {describe, expect, it} from 'vitest';
import {UsageError} from '../../../src/core/errors.js';
import {
  MAX_DATABASE_NAME_BYTES,
  PLAIN_MAX,
  RESERVED_DATABASE_NAMES,
  TEMPLATE_DATABASE_RE,
  databaseName,
  validateDatabaseName,
} from '../../../src/core/odoo/database-name.js';

const VALID = /^[a-z0-9_]{1,63}$/;

describe('databaseName', () => {
  it.each([
    ['shop', 'main', 'shop_main'],
    ['my-shop', 'feature-login-1a2b3c4d', 'my_shop_feature_login_1a2b3c4d'],
    ['1shop', 'dev', '1shop_dev'],
  ])('%s + %s → %s', (project, env, expected) => {
    expect(databaseName(project, env)).toBe(expected);
  });

  it('cuts long names to 63 bytes with a hash, keeping envs apart', () => {
    const project = 'a'.repeat(40);
    const a = databaseName(project, `${'b'.repeat(30)}-one`);
    const b = databaseName(project, `${'b'.repeat(30)}-two`);
    expect(a).toHaveLength(MAX_DATABASE_NAME_BYTES);
    expect(b).toHaveLength(MAX_DATABASE_NAME_BYTES);
    expect(a).not.toBe(b);
    expect(a.slice(0, PLAIN_MAX)).toBe(b.slice(0, PLAIN_MAX));
    expect(a).toMatch(VALID);
  });

  it('is deterministic and distinct for many envs', () => {
    const names = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const env = `e${i}-${'x'.repeat(i % 35)}y`;
      const n = databaseName('my-long-project-name-for-tests', env);
      expect(n).toMatch(VALID);
      expect(databaseName('my-long-project-name-for-tests', env)).toBe(n);
      names.add(n);
    }
    expect(names.size).toBe(500);
  });

  it('never returns a reserved or template-cache name', () => {
    expect(databaseName('odoo-sh-next', 'state')).not.toBe('odoo_sh_next_state');
    expect(databaseName('odoo-sh-next', 'state')).toHaveLength(63);
    const t = databaseName('tpl', '0123456789abcdef');
    expect(t).not.toMatch(TEMPLATE_DATABASE_RE);
    for (const r of RESERVED_DATABASE_NAMES) expect(databaseName('p', 'e')).not.toBe(r);
  });

  it('rejects empty parts', () => {
    expect(() => databaseName('', 'x')).toThrow(UsageError);
  });
});

describe('validateDatabaseName', () => {
  it('accepts [a-z0-9_] up to 63 and refuses the rest', () => {
    expect(validateDatabaseName('shop_main')).toBe('shop_main');
    expect(validateDatabaseName('a'.repeat(63))).toHaveLength(63);
    for (const bad of ['', 'a'.repeat(64), 'Shop', 'a-b', 'a"b', 'a b', 'é']) expect(() => validateDatabaseName(bad)).toThrow(UsageError);
  });

  it('refuses reserved names unless allowed', () => {
    expect(() => validateDatabaseName('postgres')).toThrow(/reserved/);
    expect(validateDatabaseName('postgres', {allowReserved: true})).toBe('postgres');
  });
});
