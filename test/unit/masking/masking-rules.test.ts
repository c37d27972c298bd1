import {describe, expect, it} from 'vitest';
import {ConfigError} from '../../../src/core/errors.js';
import {parseMaskingRules, type RulesContext} from '../../../src/core/masking/masking-rules.js';
import {Secret} from '../../../src/core/secret.js';

const SALT = 'unit-test-salt-0123456789abcdef';
const ctx: RulesContext = {variables: {MASKING_SALT: SALT}, source: 'masking.yaml'};

function issuesOf(text: string, c: RulesContext = ctx): {path: string; message: string}[] {
  try {
    parseMaskingRules(text, c);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).data?.['issues'] as {path: string; message: string}[];
  }
  throw new Error('expected a ConfigError');
}

const EXAMPLE = `
salt: \${MASKING_SALT}
maskedDomains: [example.invalid, Staging.Example.ORG]
rules:
  - table: res_partner
    columns: {name: fake-name, email: fake-email, phone: fake-phone, street: fake-street, vat: fake-vat, comment: null}
  - table: res_users
    columns:
      login: {strategy: keyed-hash, unique: true, suffix: '@example.invalid'}
  - table: x
    columns:
      y: {strategy: constant, value: redacted}
      z: keep
      w: {strategy: partial, keep_last: 4}
      n: 'null'
attachments:
  - {models: [res.partner, hr.employee], action: drop}
  - {models: [ir.ui.view], action: replace}
`;

describe('parseMaskingRules', () => {
  it('parses the documented example', () => {
    const rules = parseMaskingRules(EXAMPLE, ctx);
    expect(rules.salt.reveal()).toBe(SALT);
    expect(rules.salt.source).toBe('env:MASKING_SALT');
    expect(String(rules.salt)).toBe('[REDACTED]');
    expect(rules.maskedDomains).toEqual(['example.invalid', 'staging.example.org']);
    expect(rules.tables).toEqual([
      {index: 0, table: 'res_partner', columns: [
        {column: 'name', strategy: {strategy: 'fake-name'}},
        {column: 'email', strategy: {strategy: 'fake-email'}},
        {column: 'phone', strategy: {strategy: 'fake-phone'}},
        {column: 'street', strategy: {strategy: 'fake-street'}},
        {column: 'vat', strategy: {strategy: 'fake-vat'}},
        {column: 'comment', strategy: {strategy: 'null'}},
      ]},
      {index: 1, table: 'res_users', columns: [
        {column: 'login', strategy: {strategy: 'keyed-hash', unique: true, length: 16, prefix: '', suffix: '@example.invalid'}},
      ]},
      {index: 2, table: 'x', columns: [
        {column: 'y', strategy: {strategy: 'constant', value: 'redacted'}},
        {column: 'z', strategy: {strategy: 'keep'}},
        {column: 'w', strategy: {strategy: 'partial', keepFirst: 0, keepLast: 4, maskChar: '*'}},
        {column: 'n', strategy: {strategy: 'null'}},
      ]},
    ]);
    expect(rules.attachments).toEqual([
      {index: 0, models: ['res.partner', 'hr.employee'], action: 'drop'},
      {index: 1, models: ['ir.ui.view'], action: 'replace'},
    ]);
  });

  it('defaults maskedDomains to example.invalid and accepts {fromEnv} and {fromFile} salts', () => {
    const a = parseMaskingRules('salt: {fromEnv: MASKING_SALT}\nrules: [{table: t, columns: {c: keep}}]\n', ctx);
    expect(a.maskedDomains).toEqual(['example.invalid']);
    const files: string[] = [];
    const b = parseMaskingRules('salt: {fromFile: secrets/salt}\n', {
      variables: {}, baseDir: '/project', readFile: (p) => (files.push(p), `${SALT}\n`),
    });
    expect(files).toEqual(['/project/secrets/salt']);
    expect(b.salt.reveal()).toBe(SALT);
    expect(b.salt.source).toBe('file:/project/secrets/salt');
    const c = parseMaskingRules('rules: []\n', {variables: {}, salt: new Secret(SALT, 'config')});
    expect(c.salt.source).toBe('config');
  });

  it('names the rule, the column and what is wrong, all problems at once', () => {
    const issues = issuesOf(`
salt: \${MASKING_SALT}
rules:
  - table: res_partner
    columns: {name: fake-nme, email: {strategy: fake-email, domain: real-company.com}}
  - table: res_users
    columns:
      login: {strategy: keyed-hash, unique: true, length: 8}
      signature: {strategy: constant}
      ref: {strategy: partial, keep_last: -1, colour: red}
  - table: Bad-Name
    columns: {a: keep}
  - table: res_partner
    columns: {zip: keep}
attachments:
  - {models: [res.partner], action: shred}
`);
    expect(issues).toEqual(expect.arrayContaining([
      {path: 'rules[0] res_partner.name', message: expect.stringMatching(/unknown strategy "fake-nme".*did you mean "fake-name"/)},
      {path: 'rules[1] res_users.signature', message: expect.stringContaining('constant needs a value')},
      {path: 'rules[1] res_users.ref', message: expect.stringMatching(/keep_last: expected a number >= 0, found -1/)},
      {path: 'rules[1] res_users.ref', message: expect.stringContaining('unknown key "colour"')},
      {path: 'rules[2] Bad-Name', message: expect.stringContaining('PostgreSQL table name')},
      {path: 'attachments[0]', message: expect.stringMatching(/action: expected one of "drop", "replace", found "shred"/)},
    ]));
    expect(issues.length).toBeGreaterThanOrEqual(6);
  });

  it('cross-checks domains, unique hashes and duplicate tables', () => {
    const issues = issuesOf(`
salt: \${MASKING_SALT}
rules:
  - table: res_partner
    columns: {email: {strategy: fake-email, domain: real-company.com}}
  - table: res_users
    columns:
      login: {strategy: keyed-hash, unique: true, length: 12, suffix: '@gmail.com'}
      ref: {strategy: partial, keep_last: 0}
  - table: res_partner
    columns: {zip: keep}
`);
    expect(issues).toEqual([
      {path: 'rules[0] res_partner.email', message: expect.stringContaining('real-company.com is not in maskedDomains')},
      {path: 'rules[1] res_users.login', message: expect.stringContaining('unique keyed hashes need length >= 16')},
      {path: 'rules[1] res_users.login', message: expect.stringContaining('suffix domain gmail.com is not in maskedDomains')},
      {path: 'rules[1] res_users.ref', message: expect.stringContaining('partial keeps nothing')},
      {path: 'rules[2] res_partner', message: expect.stringContaining('already has a rule (rules[0])')},
    ]);
  });

  it.each([
    ['', 'required: salt'],
    ['salt: just-a-literal-salt-in-the-file', 'must come from the environment or a file'],
    ['salt: ${NOPE}', 'NOPE is not set'],
    ['salt: ${SHORT}', 'at least 16 characters'],
    ['salt: {fromEnv: NOPE}', 'NOPE is not set'],
    ['salt: {fromVault: x}', 'found key "fromVault"'],
  ])('refuses the salt %j', (line, message) => {
    const issues = issuesOf(`${line}\nrules: []\n`, {variables: {SHORT: 'short'}});
    expect(issues).toEqual([{path: 'salt', message: expect.stringContaining(message)}]);
  });

  it('reports YAML errors and unknown top-level keys', () => {
    expect(issuesOf('salt: ${MASKING_SALT}\nrules: [\n')[0]?.message).toMatch(/^YAML: /);
    expect(issuesOf('salt: ${MASKING_SALT}\nrule: []\n')).toEqual([{path: 'rule', message: expect.stringContaining('unknown key "rule"')}]);
  });

  it('never puts the salt in error messages', () => {
    try {
      parseMaskingRules('salt: ${MASKING_SALT}\nrules: [{table: t, columns: {c: bogus}}]\n', ctx);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(SALT);
      expect(JSON.stringify((err as ConfigError).data)).not.toContain(SALT);
    }
  });
});
