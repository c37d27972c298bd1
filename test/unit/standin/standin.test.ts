// Unit tests of the Odoo stand-in's pure parts: optparse-like flags, INI file, module versions, tokens.
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {UsageError, parseArgs, readConfigFile} from '../../fixtures/odoo-standin/config.ts';
import {adaptVersion, readManifest} from '../../fixtures/odoo-standin/modules.ts';
import {csrfToken, hashPassword, sessionToken, uuid1, validateCsrf, verifyPassword} from '../../fixtures/odoo-standin/tokens.ts';

const tmp = mkdtempSync(join(tmpdir(), 'standin-unit-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

const specs = [
  {flags: ['-d', '--database'], dest: 'db_name', kind: 'value' as const},
  {flags: ['-p', '--http-port'], dest: 'http_port', kind: 'int' as const},
  {flags: ['--stop-after-init'], dest: 'stop_after_init', kind: 'true' as const},
  {flags: ['--without-demo'], dest: 'without_demo', kind: 'value' as const},
];

describe('stand-in command line', () => {
  it('accepts --flag value, --flag=value, -dvalue, -d value and unique prefixes', () => {
    expect(parseArgs(['-d', 'a', '--http-port=8070', '--stop', '--without-demo', 'all'], specs)).toEqual({
      db_name: 'a', http_port: 8070, stop_after_init: true, without_demo: 'all',
    });
    expect(parseArgs(['-dprod', '-p', '1'], specs)).toEqual({db_name: 'prod', http_port: 1});
  });

  it('fails like optparse on unknown options, bad integers, values given to flags and leftovers', () => {
    expect(() => parseArgs(['--nope'], specs)).toThrow(new UsageError('no such option: --nope'));
    expect(() => parseArgs(['-p', 'x'], specs)).toThrow("option -p: invalid integer value: 'x'");
    expect(() => parseArgs(['--stop-after-init=1'], specs)).toThrow('--stop-after-init option does not take a value');
    expect(() => parseArgs(['-d'], specs)).toThrow('-d option requires 1 argument');
    expect(() => parseArgs(['extra'], specs)).toThrow("unrecognized parameters: 'extra'");
  });

  it('reads the [options] section of an INI file with Odoo\'s True/False/None', () => {
    const file = join(tmp, 'odoo.conf');
    writeFileSync(file, '[other]\ndb_name = no\n[options]\n; comment\ndb_name = prod\nlist_db = False\nproxy_mode = True\ndb_password = None\naddons_path = /a,/b\n');
    expect(readConfigFile(file)).toEqual({db_name: 'prod', list_db: false, proxy_mode: true, db_password: undefined, addons_path: '/a,/b'});
    expect(readConfigFile(join(tmp, 'missing.conf'))).toEqual({});
  });
});

describe('stand-in modules', () => {
  it('adapts manifest versions to the series like odoo.modules.module.adapt_version', () => {
    expect(adaptVersion('1.2', '17.0')).toBe('17.0.1.2');
    expect(adaptVersion('1.2.3', '17.0')).toBe('17.0.1.2.3');
    expect(adaptVersion('17.0.1.2', '17.0')).toBe('17.0.1.2');
    expect(() => adaptVersion('16.0.1.2', '17.0')).toThrow(/Invalid version/); // another series' version
    expect(() => adaptVersion('1', '17.0')).toThrow(/Invalid version/);
  });

  it('reads version, depends, installable and auto_install from __manifest__.py', () => {
    const dir = join(tmp, 'x');
    mkdirSync(dir);
    writeFileSync(join(dir, '__manifest__.py'), `{\n  "name": "X",\n  'version': "2.1",\n  'depends': ['base',\n    "mail"],\n  'auto_install': ['mail'],\n}\n`);
    const m = readManifest('x', dir, '17.0');
    expect(m).toMatchObject({version: '17.0.2.1', depends: ['base', 'mail'], installable: true, autoInstall: ['mail'], title: 'X'});
  });
});

describe('stand-in tokens', () => {
  it('hashes passwords in passlib pbkdf2_sha512 format and verifies them; plaintext is accepted and rehashed', () => {
    const h = hashPassword('admin', 1000);
    expect(h).toMatch(/^\$pbkdf2-sha512\$1000\$[./A-Za-z0-9]{22}\$[./A-Za-z0-9]{86}$/);
    expect(verifyPassword('admin', h)).toEqual({ok: true});
    expect(verifyPassword('nope', h)).toEqual({ok: false});
    const plain = verifyPassword('admin', 'admin');
    expect(plain.ok).toBe(true);
    expect(plain.rehash).toMatch(/^\$pbkdf2-sha512\$/);
    expect(verifyPassword('', 'x').ok).toBe(false);
  });

  it('makes version 1 uuids', () => {
    const a = uuid1();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuid1()).not.toBe(a);
  });

  it('binds CSRF and session tokens to database.secret', () => {
    const sid = 'a'.repeat(84);
    const token = csrfToken('secret', sid);
    expect(validateCsrf('secret', sid, token)).toBe(true);
    expect(validateCsrf('other', sid, token)).toBe(false);
    expect(validateCsrf('secret', 'b'.repeat(84), token)).toBe(false);
    expect(validateCsrf('secret', sid, token, Date.now() + 49 * 3600 * 1000)).toBe(false);
    const user = {id: 2, login: 'admin', password: 'x', active: true};
    expect(sessionToken('s1', user)).toBe(sessionToken('s1', {...user}));
    expect(sessionToken('s1', user)).not.toBe(sessionToken('s2', user));
    expect(sessionToken('s1', user)).not.toBe(sessionToken('s1', {...user, password: 'y'}));
  });
});
