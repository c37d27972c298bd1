import {describe, expect, it} from 'vitest';
import {
  passwordFromEnv, validateEnvType, validateJwtSubject, validateMemberRole, validatePostgresRoleName,
} from '../../../src/core/members/member-input.js';
import {scramSha256Verifier} from '../../../src/core/members/scram.js';
import {UsageError} from '../../../src/core/errors.js';

describe('members inputs', () => {
  it('accepts the four roles and the four environment types', () => {
    expect(validateMemberRole('tester')).toBe('tester');
    expect(() => validateMemberRole('owner')).toThrow(UsageError);
    expect(validateEnvType(undefined)).toBeNull();
    expect(validateEnvType('preview')).toBe('preview');
    expect(() => validateEnvType('qa')).toThrow(UsageError);
  });

  it('accepts Postgres role names by identifier rules, never reserved or system names', () => {
    for (const ok of ['alice', '_ci', 'dev_2', 'a'.repeat(63)]) expect(validatePostgresRoleName(ok)).toBe(ok);
    for (const bad of ['', 'Alice', '2x', 'a-b', 'a.b', 'postgres', 'public', 'pg_read_all_data', 'ops_app', 'a'.repeat(64), 'x;drop']) {
      expect(() => validatePostgresRoleName(bad), bad).toThrow(UsageError);
    }
  });

  it('accepts jwt subjects without spaces', () => {
    expect(validateJwtSubject('alice@example.com')).toBe('alice@example.com');
    for (const bad of ['', 'a b', 'a\nb', 'x'.repeat(201)]) expect(() => validateJwtSubject(bad)).toThrow(UsageError);
  });

  it('reads a password from the environment as a Secret', () => {
    const secret = passwordFromEnv('PW', {PW: 'hunter2'});
    expect(secret.reveal()).toBe('hunter2');
    expect(String(secret)).toBe('[REDACTED]');
    expect(() => passwordFromEnv('PW', {})).toThrow(UsageError);
    expect(() => passwordFromEnv('PW', {PW: ''})).toThrow(UsageError);
  });

  it('builds SCRAM-SHA-256 verifiers in the format Postgres stores', () => {
    const salt = Buffer.alloc(16, 7);
    const v = scramSha256Verifier('pencil', {salt, iterations: 4096});
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(scramSha256Verifier('pencil', {salt, iterations: 4096})).toBe(v);
    expect(scramSha256Verifier('pencil')).not.toBe(scramSha256Verifier('pencil'));
  });
});
