// Masking on an Odoo database made by the stand-in (local provider), seeded with 13,500 canary
// personal values (names, e-mails, phones, VATs, streets in res_partner columns AND in free text:
// res_partner.comment and a custom table). After masking none is left anywhere in the database,
// ids and foreign keys are unchanged, logins stay unique, the same salt gives the same output on
// another copy and another salt a different one; rule errors and scanner findings fail the run.
import {createHmac} from 'node:crypto';
import {existsSync} from 'node:fs';
import {readdir} from 'node:fs/promises';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {ConfigError, PolicyDeniedError} from '../../../src/core/errors.js';
import {parseMaskingRules, type MaskingRules} from '../../../src/core/masking/masking-rules.js';
import {maskDatabase} from '../../../src/core/masking/masking-service.js';
import {maskedAddressTest} from '../../../src/core/masking/masking-scanner.js';
import {emailLeakRegex, helperStatements, PHONE_LEAK_REGEX} from '../../../src/core/masking/masking-sql.js';
import {withEnvDatabase} from '../../../src/core/neutralize/env-database.js';
import {makeLocalFixture, standinCode, type LocalFixture} from '../providers/local-fixture.js';

const sig = () => AbortSignal.timeout(120_000);
const env = 'msk';
const PARTNERS = 1500;
const SALT_1 = 'first-integration-salt-0123456789';
const SALT_2 = 'second-integration-salt-0123456789';

let fx: LocalFixture;
let src: string;

const RULES = `
salt: \${MASKING_SALT}
maskedDomains: [example.invalid]
rules:
  - table: res_partner
    columns: {name: fake-name, complete_name: fake-name, email: fake-email, phone: fake-phone, mobile: fake-phone, street: fake-street,
              street2: null, vat: fake-vat, comment: null, website: keep, zip: keep, city: keep, lang: keep, tz: keep, type: keep}
  - table: res_users
    columns:
      login: {strategy: keyed-hash, unique: true, suffix: '@example.invalid'}
      password: keep
      signature: null
  - table: x_customer_note
    columns: {body: {strategy: constant, value: redacted}, contact_email: fake-email, ref: {strategy: partial, keep_last: 4}}
attachments:
  - {models: [res.partner], action: replace}
`;
const rules = (salt: string, text = RULES): MaskingRules => parseMaskingRules(text, {variables: {MASKING_SALT: salt}});

// g → 7 digits "ddd dd dd"
const PHONE = (cc: string, g: string) =>
  `'+32 ${cc} ' || substr(lpad(${g}::text, 7, '0'), 1, 3) || ' ' || substr(lpad(${g}::text, 7, '0'), 4, 2) || ' ' || substr(lpad(${g}::text, 7, '0'), 6, 2)`;
const SEED = `
ALTER TABLE res_partner ADD COLUMN comment text;
CREATE INDEX res_partner_email_index ON res_partner (email);
CREATE INDEX res_partner_lower_name_index ON res_partner (lower(name::text)) WHERE active;
CREATE TABLE x_customer_note (id serial PRIMARY KEY, partner_id integer NOT NULL REFERENCES res_partner(id), body text, contact_email varchar, ref varchar);
INSERT INTO res_partner (name, complete_name, email, phone, street, vat, zip, city, comment)
SELECT 'Canary Person ' || g, 'Canary Person ' || g, 'c' || g || '.pii@acme' || (g % 10) || '.com', ${PHONE('2', 'g')},
       g || ' Kanaalstraat', 'BE0' || (100000000 + g), '1000', 'Brussels',
       'Called ' || ${PHONE('3', 'g')} || ', mail n' || g || '.pii@acme-mail.org, VAT BE0' || (200000000 + g) || ', lives at ' || g || ' Canarylaan'
  FROM generate_series(1, ${PARTNERS}) g;
INSERT INTO res_users (login, partner_id) SELECT email, id FROM res_partner WHERE name LIKE 'Canary Person %' ORDER BY id LIMIT 300;
INSERT INTO x_customer_note (partner_id, body, contact_email, ref)
SELECT id, 'Follow-up with ' || name || ' at ' || email || ' / ' || phone, email, 'REF-' || id FROM res_partner WHERE name LIKE 'Canary Person %' ORDER BY id LIMIT 500;
`;
/** Every canary shape; fakes (+999 phones, BE + 10 digits, example.invalid) cannot match. */
const CANARY_RE = [
  /Canary Person \d+/g, /[cn]\d+\.pii@acme[-a-z0-9]*\.(?:com|org)/g, /\+32 [23] \d{3} \d{2} \d{2}/g, /\bBE0[12]\d{8}\b/g, /\d+ (?:Kanaalstraat|Canarylaan)/g,
];

async function sql<T extends object>(database: string, text: string): Promise<T[]> {
  return withEnvDatabase(fx.provider, env, database, sig(), async (c) => (await c.query<T>(text)).rows);
}

async function copy(name: string, extra?: string): Promise<string> {
  const database = `${fx.dbPrefix}_${name}`;
  await (await fx.provider.database(env, sig())).createDatabase(database, {template: src}, sig());
  await fx.provider.filestore.copy({env, database: src}, {env, database}, sig());
  if (extra) await sql(database, extra);
  return database;
}

async function dump(database: string): Promise<string> {
  const handle = await fx.provider.database(env, sig());
  return (await handle.runTool('pg_dump', ['--data-only', '--no-owner', '-d', database], {}, sig())).stdout;
}

const canaries = (text: string) => CANARY_RE.flatMap((re) => text.match(re) ?? []);
const content = (db: string) => sql<{t: string}>(db, `SELECT
  (SELECT string_agg(concat_ws('|', id, name, complete_name, email, phone, street, street2, vat, comment), E'\\n' ORDER BY id) FROM res_partner) ||
  (SELECT string_agg(concat_ws('|', id, login, partner_id), E'\\n' ORDER BY id) FROM res_users) ||
  (SELECT string_agg(concat_ws('|', id, partner_id, body, contact_email, ref), E'\\n' ORDER BY id) FROM x_customer_note) AS t`).then((r) => r[0]?.t ?? '');
const links = (db: string) => sql(db, `SELECT
  (SELECT json_agg(json_build_array(id, parent_id) ORDER BY id) FROM res_partner) AS partners,
  (SELECT json_agg(json_build_array(id, partner_id) ORDER BY id) FROM res_users) AS users,
  (SELECT json_agg(json_build_array(id, partner_id) ORDER BY id) FROM x_customer_note) AS notes,
  (SELECT json_agg(json_build_array(id, res_model, res_id) ORDER BY id) FROM ir_attachment) AS attachments`);
const files = async (db: string) => {
  const root = fx.provider.filestore.location({env, database: db}).path ?? '';
  const out: string[] = [];
  for (const d of (await readdir(root)).filter((n) => /^[0-9a-f]{2}$/.test(n))) for (const f of await readdir(join(root, d))) out.push(`${d}/${f}`);
  return out.sort();
};

beforeAll(async () => {
  fx = await makeLocalFixture({templateCache: {maxCount: 0, maxAgeMs: 0}});
  src = `${fx.dbPrefix}_src`;
  await fx.provider.initDatabase({env, database: src, code: standinCode(), modules: ['base'], demo: true}, sig());
  await sql(src, SEED);
});
afterAll(async () => {
  await fx?.cleanup();
});

describe('masking a cloned database', () => {
  let a: string;
  it('leaves none of the canaries, keeps ids, foreign keys and unique logins', async () => {
    const seeded = new Set(canaries(await dump(src)));
    expect(seeded.size).toBeGreaterThanOrEqual(10_000);
    a = await copy('a');
    const before = await links(a);
    const partnerFiles = await sql<{store_fname: string}>(a, "SELECT DISTINCT store_fname FROM ir_attachment WHERE res_model = 'res.partner' AND store_fname IS NOT NULL");
    expect(partnerFiles.length).toBeGreaterThan(0);

    const indexes = () => sql(a, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'res_partner' ORDER BY indexname");
    const indexesBefore = await indexes();
    const result = await maskDatabase({provider: fx.provider, env, database: a, rules: rules(SALT_1), signal: sig(), rebuildIndexesAbove: 0});
    expect(result.scan).toMatchObject({ok: true, findings: []});
    // every plain index of the table (a rewritten row gets an entry in each), none behind a constraint
    const rebuilt = result.tables.find((t) => t.table === 'res_partner')?.rebuiltIndexes ?? [];
    expect(rebuilt).toEqual(expect.arrayContaining(['res_partner_email_index', 'res_partner_lower_name_index']));
    expect(rebuilt).not.toContain('res_partner_pkey');
    expect(await indexes()).toEqual(indexesBefore);
    expect(result.tables.find((t) => t.table === 'res_partner')?.rows).toBeGreaterThanOrEqual(PARTNERS);
    expect(result.files.removed).toBe(partnerFiles.length);

    const leaked = canaries(await dump(a)).filter((v) => seeded.has(v));
    expect(leaked).toEqual([]);
    expect(await links(a)).toEqual(before);
    expect(await sql(a, `SELECT count(*)::int AS n, count(DISTINCT login)::int AS d, count(*) FILTER (WHERE login LIKE '%@example.invalid')::int AS masked FROM res_users`))
      .toEqual([{n: 303, d: 303, masked: 303}]);
    // the same original gives the same masked value in another table (joins stay consistent)
    expect(await sql(a, `SELECT count(*)::int AS n FROM x_customer_note x JOIN res_partner p ON p.id = x.partner_id WHERE x.contact_email = p.email`)).toEqual([{n: 500}]);
    expect(await sql(a, `SELECT count(*)::int AS n FROM x_customer_note WHERE body = 'redacted'
      AND ref = repeat('*', length('REF-' || partner_id) - 4) || right('REF-' || partner_id, 4)`)).toEqual([{n: 500}]);
    expect(await sql(a, `SELECT count(*)::int AS n FROM res_partner WHERE phone IS NOT NULL AND phone !~ '^\\+999 [0-9]{4} [0-9]{4}$'`)).toEqual([{n: 0}]);
    // attachments: placeholders in the rows, the files no longer referenced removed from this copy only
    expect(await sql(a, "SELECT count(*)::int AS n FROM ir_attachment WHERE res_model = 'res.partner' AND (store_fname IS NOT NULL OR (type = 'binary' AND db_datas IS NULL))")).toEqual([{n: 0}]);
    const left = await files(a);
    for (const {store_fname: f} of partnerFiles) {
      expect(left).not.toContain(f);
      expect(existsSync(join(fx.provider.filestore.location({env, database: src}).path ?? '', f))).toBe(true);
    }
  });

  it('gives identical output for the same salt and different output for another salt', async () => {
    const b = await copy('b');
    const c = await copy('c');
    await maskDatabase({provider: fx.provider, env, database: b, rules: rules(SALT_1), signal: sig()});
    await maskDatabase({provider: fx.provider, env, database: c, rules: rules(SALT_2), signal: sig()});
    const [ta, tb, tc] = await Promise.all([content(a), content(b), content(c)]);
    expect(tb).toBe(ta);
    expect(tc).not.toBe(ta);
    const differing = await sql<{n: number}>(c, `SELECT count(*)::int AS n FROM res_partner WHERE email LIKE 'c%'`);
    expect(differing[0]?.n).toBeLessThan(PARTNERS);
  });

  it('refuses a rule on a column that does not exist, naming the rule, and changes nothing', async () => {
    const d = await copy('d');
    const before = await content(d);
    const bad = RULES.replace('street2: null', 'street3: null');
    const err = await maskDatabase({provider: fx.provider, env, database: d, rules: rules(SALT_1, bad), signal: sig()}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/rules\[0\] res_partner\.street3: column res_partner\.street3 does not exist; did you mean "street2?"\?/);
    expect(await content(d)).toBe(before);
  });

  it('fails the scan on an uncovered text column, an e-mail left in a kept column and a value a trigger restores', async () => {
    const e = await copy('e', `
ALTER TABLE res_partner ADD COLUMN x_private_note varchar;
UPDATE res_partner SET website = 'mailto:boss@leaky-corp.com' WHERE id = (SELECT min(id) FROM res_partner);
CREATE FUNCTION keep_contact() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.contact_email := OLD.contact_email; RETURN NEW; END $$;
CREATE TRIGGER custom_module_sync BEFORE UPDATE ON x_customer_note FOR EACH ROW EXECUTE FUNCTION keep_contact();`);
    const err = await maskDatabase({provider: fx.provider, env, database: e, rules: rules(SALT_1), signal: sig()}).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect((err as PolicyDeniedError).reasons).toEqual(expect.arrayContaining([
      'res_partner.x_private_note: text column not covered by any rule (classify it, e.g. "x_private_note: keep")',
      'res_partner.website: 1 row(s) contain an e-mail address outside the masked domains',
      'x_customer_note.contact_email: 500 row(s) still hold their original value',
      'x_customer_note.contact_email: 500 row(s) contain an e-mail address outside the masked domains',
    ]));
    expect((err as PolicyDeniedError).reasons).toHaveLength(4);
  });

  it('drops the attachments of the chosen models and their files', async () => {
    const f = await copy('f');
    const dropRules = RULES.replace('action: replace', 'action: drop');
    const result = await maskDatabase({provider: fx.provider, env, database: f, rules: rules(SALT_1, dropRules), signal: sig()});
    expect(result.attachments).toEqual([{rule: 0, action: 'drop', models: ['res.partner'], rows: 5}]);
    expect(await sql(f, "SELECT count(*)::int AS n FROM ir_attachment WHERE res_model = 'res.partner'")).toEqual([{n: 0}]);
    expect(result.files.removed).toBeGreaterThan(0);
    expect((await files(f)).length).toBe((await files(src)).length - result.files.removed);
  });

  it("uses PostgreSQL patterns that tell masked values from personal ones", async () => {
    const values = {
      email: [['write to a@b.example.invalid.', false], ['x@EXAMPLE.invalid, y@example.invalid', false], ['a@example.invalid.com', true],
        ['"Jane" <Jane.Doe@Acme.co.uk>', true], ['a@example.invalid,b@c.de', true], ['no mail here @ all', false]],
      phone: [['+32 2 555 18 44', true], ['(603)-996-3829', true], ['+1 555-555-5556', true], ['call 870-931-0505.', true], ['01 23 45 67 89', true],
        ['+4930123456', true], ['+999 1234 5678', false], ['INV/2024/00042', false], ['2024-01-15', false], ['BE0477472701', false], ['1,080.00', false]],
    } as const;
    const email = emailLeakRegex(['example.invalid']);
    for (const [kind, re] of [['email', email], ['phone', PHONE_LEAK_REGEX]] as const) {
      const got = await withEnvDatabase(fx.provider, env, src, sig(), async (c) => (await c.query<{v: string; m: boolean}>(
        'SELECT v, v ~ $1 AS m FROM unnest($2::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i', [re, values[kind].map(([v]) => v)])).rows);
      expect(got.map((r) => [r.v, r.m])).toEqual(values[kind]);
    }
  });

  it('takes the pattern shortcut only for values that are plainly one address in a masked domain', async () => {
    const values = [['a.b.0123@example.invalid', true], ['x@Staging.Example.Invalid', true], ['x@leaky.com..example.invalid', false],
      ['x@leaky.com/.example.invalid', false], ['a@b.com x@example.invalid', false], ['x@example.invalid abcd', false], ['x@example.invalid.com', false]] as const;
    const got = await withEnvDatabase(fx.provider, env, src, sig(), async (c) => (await c.query<{v: string; m: boolean}>(
      `SELECT t.v, coalesce(${maskedAddressTest('v', ['example.invalid'])}, false) AS m FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i`,
      [values.map(([v]) => v)])).rows);
    expect(got.map((r) => [r.v, r.m])).toEqual(values);
    // every value the shortcut accepts is one the pattern rejects
    const re = emailLeakRegex(['example.invalid']);
    const leaks = await withEnvDatabase(fx.provider, env, src, sig(), async (c) => (await c.query<{v: string}>(
      'SELECT v FROM unnest($1::text[]) AS t(v) WHERE v ~ $2', [values.filter(([, m]) => m).map(([v]) => v), re])).rows);
    expect(leaks).toEqual([]);
  });

  it('computes HMAC-SHA256 in PostgreSQL without pgcrypto', async () => {
    const got = await withEnvDatabase(fx.provider, env, src, sig(), async (c) => {
      for (const st of helperStatements(SALT_1)) await c.query(st);
      return (await c.query<{h: string}>("SELECT encode(pg_temp.osn_hmac($1), 'hex') AS h", ['Jöhn Dœ <john@acme.com>'])).rows[0]?.h;
    });
    expect(got).toBe(createHmac('sha256', SALT_1).update('Jöhn Dœ <john@acme.com>', 'utf8').digest('hex'));
  });
});
