import {describe, expect, it} from 'vitest';
import {buildMaskingPlan, catalogTables, type Catalog, type CatalogColumn, type ColumnKind} from '../../../src/core/masking/masking-plan.js';
import {parseMaskingRules, type MaskingRules} from '../../../src/core/masking/masking-rules.js';

const SALT = 'unit-test-salt-0123456789abcdef';

function col(table: string, column: string, type: string, o: Partial<CatalogColumn> = {}): CatalogColumn {
  const kind: ColumnKind = /^(character|text)/.test(type) ? 'text' : /^json/.test(type) ? 'json' : 'other';
  const len = /\((\d+)\)/.exec(type);
  return {table, column, type, kind, maxLength: len ? Number(len[1]) : null, nullable: true, unique: false, ...o};
}

const CATALOG: Catalog = {
  columns: [
    col('res_partner', 'id', 'integer', {nullable: false, unique: true}),
    col('res_partner', 'name', 'character varying'),
    col('res_partner', 'email', 'character varying'),
    col('res_partner', 'phone', 'character varying(20)'),
    col('res_partner', 'comment', 'text'),
    col('res_partner', 'lang', 'character varying'),
    col('res_partner', 'active', 'boolean'),
    col('res_partner', 'meta', 'jsonb'),
    col('res_users', 'id', 'integer', {nullable: false, unique: true}),
    col('res_users', 'login', 'character varying', {nullable: false, unique: true}),
    col('res_users', 'partner_id', 'integer', {nullable: false}),
    col('x_note', 'id', 'integer', {nullable: false, unique: true}),
    col('x_note', 'body', 'text'),
    col('x_note', 'ref', 'character varying'),
    col('x_note', 'code', 'character varying', {nullable: false}),
    col('x_rel', 'a', 'integer'),
    col('x_rel', 'label', 'text'),
    ...['id', 'name', 'res_model', 'res_field', 'type', 'store_fname', 'db_datas', 'checksum', 'file_size', 'mimetype'].map((c) =>
      col('ir_attachment', c, c === 'id' || c === 'file_size' ? 'integer' : c === 'db_datas' ? 'bytea' : 'character varying')),
  ],
};

const rulesOf = (yaml: string, salt = SALT): MaskingRules => parseMaskingRules(`salt: \${S}\n${yaml}`, {variables: {S: salt}});

const RULES = `
rules:
  - table: res_partner
    columns: {name: fake-name, email: fake-email, phone: fake-phone, comment: null, lang: keep, meta: {strategy: constant, value: '{}'}}
  - table: res_users
    columns:
      login: {strategy: keyed-hash, unique: true, suffix: '@example.invalid'}
  - table: x_note
    columns: {body: keep, ref: {strategy: partial, keep_last: 4}, code: keep}
`;

describe('buildMaskingPlan', () => {
  it('builds one UPDATE per table, exactly', () => {
    const plan = buildMaskingPlan(rulesOf(RULES), CATALOG);
    expect(plan.errors).toEqual([]);
    expect(plan.statements).toEqual([
      `WITH osn_u AS (
UPDATE public."res_partner" AS t
   SET "name" = pg_temp.osn_fake_name(t."name"::text, s.h0),
       "email" = pg_temp.osn_fake_email(t."email"::text, s.h1, 'example.invalid'),
       "phone" = left(pg_temp.osn_fake_phone(t."phone"::text, s.h2), 20),
       "comment" = NULL::text,
       "meta" = CASE WHEN t."meta" IS NULL THEN NULL ELSE '{}'::jsonb END
  FROM (SELECT o.tableoid AS osn_tableoid, o.ctid AS osn_ctid, o."name"::text AS o0, o."email"::text AS o1, o."phone"::text AS o2, o."meta"::text AS o3, pg_temp.osn_hmac(o."name"::text) AS h0, pg_temp.osn_hmac(o."email"::text) AS h1, pg_temp.osn_hmac(o."phone"::text) AS h2
          FROM public."res_partner" AS o WHERE o."name" IS NOT NULL OR o."email" IS NOT NULL OR o."phone" IS NOT NULL OR o."comment" IS NOT NULL OR o."meta" IS NOT NULL OFFSET 0) AS s
 WHERE t.tableoid = s.osn_tableoid AND t.ctid = s.osn_ctid
 RETURNING coalesce(t."name"::text = s.o0 AND s.o0 <> '', false) AS u0, coalesce(t."email"::text = s.o1 AND s.o1 <> '', false) AS u1, coalesce(t."phone"::text = s.o2 AND s.o2 <> '', false) AS u2, coalesce(t."meta"::text = s.o3 AND s.o3 <> '' AND t."meta"::text IS DISTINCT FROM '{}', false) AS u3)
SELECT count(*) AS osn_rows, count(*) FILTER (WHERE u0) AS u0, count(*) FILTER (WHERE u1) AS u1, count(*) FILTER (WHERE u2) AS u2, count(*) FILTER (WHERE u3) AS u3 FROM osn_u`,
      `WITH osn_u AS (
UPDATE public."res_users" AS t
   SET "login" = pg_temp.osn_keyed_hash(t."login"::text, s.h0, 16, '', '@example.invalid')
  FROM (SELECT o.tableoid AS osn_tableoid, o.ctid AS osn_ctid, o."login"::text AS o0, pg_temp.osn_hmac(o."login"::text) AS h0
          FROM public."res_users" AS o WHERE o."login" IS NOT NULL OFFSET 0) AS s
 WHERE t.tableoid = s.osn_tableoid AND t.ctid = s.osn_ctid
 RETURNING coalesce(t."login"::text = s.o0 AND s.o0 <> '', false) AS u0)
SELECT count(*) AS osn_rows, count(*) FILTER (WHERE u0) AS u0 FROM osn_u`,
      `WITH osn_u AS (
UPDATE public."x_note" AS t
   SET "ref" = pg_temp.osn_partial(t."ref"::text, 0, 4, '*')
  FROM (SELECT o.tableoid AS osn_tableoid, o.ctid AS osn_ctid, o."ref"::text AS o0
          FROM public."x_note" AS o WHERE o."ref" IS NOT NULL OFFSET 0) AS s
 WHERE t.tableoid = s.osn_tableoid AND t.ctid = s.osn_ctid
 RETURNING coalesce(t."ref"::text = s.o0 AND s.o0 <> '' AND replace(t."ref"::text, '*', '') <> '', false) AS u0)
SELECT count(*) AS osn_rows, count(*) FILTER (WHERE u0) AS u0 FROM osn_u`,
    ]);
    expect(plan.tables.map((t) => [t.table, t.generatedColumns])).toEqual([['res_partner', ['name', 'email', 'phone']], ['res_users', ['login']], ['x_note', []]]);
    expect(plan.uncovered).toEqual([]);
    expect(plan.coverage.filter((c) => c.table === 'res_partner')).toEqual([
      {table: 'res_partner', column: 'name', type: 'character varying', strategy: 'fake-name'},
      {table: 'res_partner', column: 'email', type: 'character varying', strategy: 'fake-email'},
      {table: 'res_partner', column: 'phone', type: 'character varying(20)', strategy: 'fake-phone'},
      {table: 'res_partner', column: 'comment', type: 'text', strategy: 'null'},
      {table: 'res_partner', column: 'lang', type: 'character varying', strategy: 'keep'},
      {table: 'res_partner', column: 'meta', type: 'jsonb', strategy: 'constant("{}")'},
    ]);
    expect(plan.tables.map((t) => [t.table, t.textColumns])).toEqual([
      ['res_partner', ['name', 'email', 'phone', 'comment', 'lang', 'meta']],
      ['res_users', ['login']],
      ['x_note', ['body', 'ref', 'code']],
    ]);
    expect(plan.tables[0]?.columns.map((c) => [c.column, c.compared])).toEqual([
      ['name', true], ['email', true], ['phone', true], ['comment', false], ['lang', false], ['meta', true],
    ]);
  });

  it('is deterministic and does not depend on the salt (the key lives in the session helper)', () => {
    const a = buildMaskingPlan(rulesOf(RULES), CATALOG);
    const b = buildMaskingPlan(rulesOf(RULES), CATALOG);
    const c = buildMaskingPlan(rulesOf(RULES, 'another-salt-0123456789abcdef'), CATALOG);
    expect(b).toEqual(a);
    expect(c.statements).toEqual(a.statements);
    expect(a.statements.join('\n')).not.toContain(SALT);
  });

  it('lists text and json columns no rule covers, and skips tables whose columns are all kept', () => {
    const plan = buildMaskingPlan(rulesOf('rules:\n  - table: res_partner\n    columns: {name: keep}\n'), CATALOG);
    expect(plan.statements).toEqual([]);
    expect(plan.uncovered).toEqual(['email', 'phone', 'comment', 'lang', 'meta'].map((column) => ({table: 'res_partner', column})));
    expect(plan.coverage.find((c) => c.column === 'active')).toBeUndefined();
  });

  it('names the rule for every error', () => {
    const plan = buildMaskingPlan(rulesOf(`
rules:
  - table: res_partnr
    columns: {name: keep}
  - table: res_partner
    columns: {nam: fake-name, active: fake-name, email: keep}
  - table: res_users
    columns: {login: fake-name, partner_id: null}
  - table: x_note
    columns: {code: null, ref: {strategy: keyed-hash}}
  - table: x_rel
    columns: {label: fake-name}
attachments:
  - {models: [res.partner], action: drop}
`), {columns: CATALOG.columns.filter((c) => c.table !== 'ir_attachment')});
    expect(plan.errors).toEqual([
      {rule: 'rules[0] res_partnr', message: 'table res_partnr does not exist; did you mean "res_partner"?'},
      {rule: 'rules[1] res_partner.nam', message: 'column res_partner.nam does not exist; did you mean "name"?'},
      {rule: 'rules[1] res_partner.active', message: 'strategy fake-name needs a text column; res_partner.active is boolean (use keep, null or constant)'},
      {rule: 'rules[2] res_users.login', message: 'res_users.login has a unique index: use {strategy: keyed-hash, unique: true}, fake-email, null or keep'},
      {rule: 'rules[2] res_users.partner_id', message: 'res_users.partner_id is NOT NULL: it cannot be set to NULL (use constant or a fake strategy)'},
      {rule: 'rules[3] x_note.code', message: 'x_note.code is NOT NULL: it cannot be set to NULL (use constant or a fake strategy)'},
      {rule: 'rules[4] x_rel', message: 'table x_rel has no id column: masked values cannot be checked against the originals'},
      {rule: 'attachments[0]', message: 'table ir_attachment does not exist'},
    ]);
  });

  it('refuses a unique keyed hash that the column cannot hold', () => {
    const catalog = {columns: [col('t', 'id', 'integer'), col('t', 'login', 'character varying(20)', {unique: true})]};
    const plan = buildMaskingPlan(rulesOf(`rules:\n  - table: t\n    columns:\n      login: {strategy: keyed-hash, unique: true, suffix: '@example.invalid'}\n`), catalog);
    expect(plan.errors).toEqual([{rule: 'rules[0] t.login', message: expect.stringContaining('holds at most 20 characters')}]);
  });

  it('plans attachment rules', () => {
    const plan = buildMaskingPlan(rulesOf(`
attachments:
  - {models: [res.partner, hr.employee], action: drop}
  - {models: [project.task], action: replace}
`), CATALOG);
    expect(plan.errors).toEqual([]);
    expect(plan.attachments.map((a) => [a.rule, a.action, a.models])).toEqual([[0, 'drop', ['res.partner', 'hr.employee']], [1, 'replace', ['project.task']]]);
    expect(plan.attachments[0]?.statement).toBe(
      `WITH gone AS (DELETE FROM public.ir_attachment WHERE res_model IN ('res.partner', 'hr.employee') RETURNING store_fname)\n` +
      `INSERT INTO pg_temp.osn_freed_files (store_fname) SELECT DISTINCT store_fname FROM gone WHERE store_fname IS NOT NULL AND store_fname <> ''`);
    const replace = plan.attachments[1]?.statement ?? '';
    expect(replace).toContain("WHERE res_model IN ('project.task') FOR UPDATE");
    expect(replace).toContain('store_fname = NULL');
    expect(replace).toMatch(/checksum = CASE .* THEN 'b2bbe763c7e1828c750d53f78550709a6fea19be' ELSE 'ee041c2ea3cef1145124cc49462b3bddf3e68b3b' END/);
    expect(replace).toContain("name = CASE WHEN a.res_field IS NULL THEN 'masked-' || a.id");
    expect(replace).not.toContain('index_content'); // not in this catalog
    expect(catalogTables(rulesOf('attachments: [{models: [a.b], action: drop}]\nrules: [{table: zz, columns: {c: keep}}]\n'))).toEqual(['ir_attachment', 'zz']);
  });
});
