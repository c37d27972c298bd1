// Neutralization and clone preparation on Odoo databases made by the stand-in through the local
// provider: Odoo's own neutralize (17.0), the platform's SQL (a 15.0 code), the verification failing
// when a custom module re-enables a mail server, a broken neutralize, and prepareClonedDatabase.
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {prepareClonedDatabase} from '../../../src/core/clone/prepare-clone.js';
import {ProviderError} from '../../../src/core/errors.js';
import {parseMaskingRules} from '../../../src/core/masking/masking-rules.js';
import {withEnvDatabase} from '../../../src/core/neutralize/env-database.js';
import {neutralizeDatabase} from '../../../src/core/neutralize/neutralize-service.js';
import type {OdooCode} from '../../../src/providers/provider.js';
import {makeLocalFixture, standinCode, type LocalFixture} from '../providers/local-fixture.js';

const sig = () => AbortSignal.timeout(120_000);
const env = 'neu';

let fx: LocalFixture;
let addons: string;
let src: string;
let code: OdooCode;

async function addon(name: string, neutralizeSql: string): Promise<void> {
  await mkdir(join(addons, name, 'data'), {recursive: true});
  await writeFile(join(addons, name, '__manifest__.py'), `{'name': '${name}', 'version': '1.0', 'depends': ['base'], 'license': 'LGPL-3'}\n`);
  await writeFile(join(addons, name, 'data', 'neutralize.sql'), neutralizeSql);
}

/** A copy of the source database, with extra SQL run on it (e.g. a custom module marked installed). */
async function copy(name: string, sql?: string): Promise<string> {
  const database = `${fx.dbPrefix}_${name}`;
  const handle = await fx.provider.database(env, sig());
  await handle.createDatabase(database, {template: src}, sig());
  if (sql) await withEnvDatabase(fx.provider, env, database, sig(), (c) => c.query(sql));
  return database;
}

const rows = <T extends object>(database: string, sql: string) =>
  withEnvDatabase(fx.provider, env, database, sig(), async (c) => (await c.query<T>(sql)).rows);

beforeAll(async () => {
  fx = await makeLocalFixture({templateCache: {maxCount: 0, maxAgeMs: 0}});
  addons = await mkdtemp(join(tmpdir(), 'odoo-sh-addons-'));
  // A custom module whose neutralize.sql turns production's SMTP server back on (runs after base's).
  await addon('evil_mailer', "UPDATE ir_mail_server SET active = true WHERE smtp_host = 'smtp.mailgun.org';\n");
  await addon('broken_neutralize', 'UPDATE no_such_table SET x = 1;\n');
  code = standinCode([addons]);
  src = `${fx.dbPrefix}_src`;
  await fx.provider.initDatabase({env, database: src, code, modules: ['base', 'mail', 'payment_stripe'], demo: true}, sig());
});
afterAll(async () => {
  await fx?.cleanup();
  if (addons) await rm(addons, {recursive: true, force: true});
});

const installed = (module: string) =>
  `INSERT INTO ir_module_module (name, state, latest_version) VALUES ('${module}', 'installed', '17.0.1.0')
   ON CONFLICT (name) DO UPDATE SET state = 'installed'`;

describe('neutralization', () => {
  it("runs Odoo's neutralize (16.0+), clears credentials and verifies", async () => {
    const db = await copy('odoo');
    const events: string[] = [];
    const result = await neutralizeDatabase({provider: fx.provider, env, envType: 'staging', database: db, code, signal: sig(), event: (_l, m) => events.push(m)});
    expect(result.method).toBe('odoo');
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.checks.map((c) => c.name)).toEqual(['mail-servers', 'mail-dummy', 'smtp-credentials', 'crons', 'payment-providers', 'fetchmail', 'neutralized-flag']);
    expect(events.some((m) => m.includes('odoo-bin neutralize'))).toBe(true);
    const servers = await rows<{smtp_host: string; active: boolean; smtp_user: string | null; smtp_pass: string | null}>(db, 'SELECT smtp_host, active, smtp_user, smtp_pass FROM ir_mail_server ORDER BY id');
    expect(servers).toEqual([
      {smtp_host: 'smtp.mailgun.org', active: false, smtp_user: null, smtp_pass: null},
      {smtp_host: 'invalid', active: true, smtp_user: null, smtp_pass: null},
    ]);
    expect(await rows(db, 'SELECT active, password FROM fetchmail_server')).toEqual([{active: false, password: null}]);
    expect(await rows(db, "SELECT state, stripe_secret_key FROM payment_provider WHERE code = 'stripe'")).toEqual([{state: 'disabled', stripe_secret_key: null}]);
    expect(await rows(db, "SELECT cron_name FROM ir_cron WHERE active")).toEqual([{cron_name: 'Base: Auto-vacuum internal data'}]);
  });

  it("applies the platform's SQL to a series without neutralize", async () => {
    const db = await copy('sql');
    const result = await neutralizeDatabase({provider: fx.provider, env, envType: 'staging', database: db, code: {...code, version: '15.0'}, signal: sig()});
    expect(result.method).toBe('sql');
    expect(result.checks.every((c) => c.ok)).toBe(true);
    expect(await rows(db, "SELECT count(*)::int AS n FROM ir_mail_server WHERE active AND smtp_host = 'invalid'")).toEqual([{n: 1}]);
    expect(await rows(db, "SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'")).toEqual([{value: 'true'}]);
    expect(await rows(db, 'SELECT count(*)::int AS n FROM mail_template WHERE mail_server_id IS NOT NULL')).toEqual([{n: 0}]);
    // idempotent: a second pass keeps one dummy server
    await neutralizeDatabase({provider: fx.provider, env, envType: 'staging', database: db, code: {...code, version: '15.0'}, signal: sig()});
    expect(await rows(db, "SELECT count(*)::int AS n FROM ir_mail_server WHERE smtp_host = 'invalid'")).toEqual([{n: 1}]);
  });

  it('fails the run naming the check when a custom module re-activates a mail server', async () => {
    const db = await copy('bypass', installed('evil_mailer'));
    const err = await neutralizeDatabase({provider: fx.provider, env, envType: 'staging', database: db, code, signal: sig()}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/1 check failed[\s\S]*mail-servers: .*Mailgun \(production\) \(smtp\.mailgun\.org\)/);
    expect((err as ProviderError).data?.['failedChecks']).toEqual([{name: 'mail-servers', offenders: ['Mailgun (production) (smtp.mailgun.org)']}]);
  });

  it('fails when Odoo cannot neutralize', async () => {
    const db = await copy('broken', installed('broken_neutralize'));
    const err = await neutralizeDatabase({provider: fx.provider, env, envType: 'staging', database: db, code, signal: sig()}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toContain('THE DATABASE IS NOT NEUTRALIZED');
    // Odoo's neutralize runs in one transaction: nothing changed
    expect(await rows(db, "SELECT count(*)::int AS n FROM ir_mail_server WHERE active AND smtp_host <> 'invalid'")).toEqual([{n: 1}]);
  });
});

describe('prepareClonedDatabase', () => {
  const params = async (db: string) => Object.fromEntries((await rows<{key: string; value: string}>(db, 'SELECT key, value FROM ir_config_parameter')).map((r) => [r.key, r.value]));

  it('regenerates the identity, freezes the URL, neutralizes, and says when nothing is masked', async () => {
    const before = await params(src);
    const db = await copy('clone');
    // create_date has a one-second resolution: an old value makes its regeneration observable even
    // when the source was created in the same second as the clone.
    await rows(db, "UPDATE ir_config_parameter SET value = '2001-01-01 00:00:00' WHERE key = 'database.create_date'");
    const events: {level: string; message: string}[] = [];
    const result = await prepareClonedDatabase({
      provider: fx.provider, env, envType: 'staging', database: db, code, url: 'http://staging.shop.test:8069/', signal: sig(),
      event: (level, message) => events.push({level, message}),
    });
    const after = await params(db);
    expect(after['database.uuid']).not.toBe(before['database.uuid']);
    expect(after['database.uuid']).toBe(result.identity.uuid);
    expect(after['database.uuid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(after['database.secret']).not.toBe(before['database.secret']);
    expect(after['database.secret']).toMatch(/^[0-9a-f-]{36}$/);
    expect(after['database.create_date']).not.toBe('2001-01-01 00:00:00');
    expect(after['web.base.url']).toBe('http://staging.shop.test:8069');
    expect(after['web.base.url.freeze']).toBe('True');
    expect(after['database.is_neutralized']).toBe('true');
    expect(result.masking).toBeNull();
    expect(events).toContainEqual({level: 'warn', message: expect.stringContaining('no masking rules configured')});
    expect(JSON.stringify(events)).not.toContain(after['database.secret']);
  });

  it('masks after neutralizing when rules are given', async () => {
    const db = await copy('clone_masked');
    const rules = parseMaskingRules(`salt: \${S}
rules:
  - table: res_partner
    columns: {name: fake-name, complete_name: fake-name, email: fake-email, phone: fake-phone, mobile: fake-phone, street: fake-street,
              street2: null, vat: fake-vat, website: keep, zip: keep, city: keep, lang: keep, tz: keep, type: keep}
attachments:
  - {models: [res.partner], action: drop}
`, {variables: {S: 'integration-salt-0123456789'}});
    const result = await prepareClonedDatabase({provider: fx.provider, env, envType: 'staging', database: db, code, url: 'http://s.test', masking: {rules}, signal: sig()});
    expect(result.masking?.scan.ok).toBe(true);
    expect(await rows(db, "SELECT count(*)::int AS n FROM res_partner WHERE email LIKE '%@example.com'")).toEqual([{n: 0}]);
    expect(await rows(db, "SELECT count(*)::int AS n FROM ir_attachment WHERE res_model = 'res.partner'")).toEqual([{n: 0}]);
  });
});
