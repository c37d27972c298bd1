import {createHash, createHmac} from 'node:crypto';
import {describe, expect, it} from 'vitest';
import {PolicyDeniedError} from '../../../src/core/errors.js';
import {buildMaskingPlan, type Catalog} from '../../../src/core/masking/masking-plan.js';
import {parseMaskingRules} from '../../../src/core/masking/masking-rules.js';
import {assertScanClean, describeFinding, patternQuery, snapshotStatements, unchangedQuery} from '../../../src/core/masking/masking-scanner.js';
import {emailLeakRegex, helperStatements, hmacPads} from '../../../src/core/masking/masking-sql.js';
import {Secret} from '../../../src/core/secret.js';

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

describe('masking SQL helpers', () => {
  it.each(['short-but-16-chars', 'x'.repeat(64), 'ü'.repeat(50)])('derives HMAC-SHA256 key pads (salt %#)', (salt) => {
    const {inner, outer} = hmacPads(new Secret(salt));
    const msg = Buffer.from('jane.doe@example.com', 'utf8');
    expect(sha256(outer, sha256(inner, msg))).toEqual(createHmac('sha256', salt).update(msg).digest());
  });

  it('embeds the key only in osn_hmac, and differently for another salt', () => {
    const a = helperStatements('salt-number-one-0123456789');
    const b = helperStatements('salt-number-two-0123456789');
    const hmacA = a.find((s) => s.includes('osn_hmac(v text)'));
    expect(hmacA).toBeDefined();
    expect(a.join('\n')).not.toContain('salt-number-one');
    expect(a.filter((s) => s !== hmacA)).toEqual(b.filter((s) => !s.includes('osn_hmac(v text)')));
    expect(b).not.toContain(hmacA);
    expect(helperStatements('salt-number-one-0123456789')).toEqual(a);
    expect(a.every((s) => !s.startsWith('CREATE') || s.includes('LANGUAGE sql STABLE') || s.startsWith('CREATE TEMP TABLE'))).toBe(true);
  });

  it('builds an e-mail pattern that accepts the masked domains and their subdomains', () => {
    expect(emailLeakRegex(['example.invalid', 'staging.acme.test'])).toContain('(?:example\\.invalid|staging\\.acme\\.test)');
  });
});

const catalog: Catalog = {
  columns: [
    {table: 'p', column: 'id', type: 'integer', kind: 'other', maxLength: null, nullable: false, unique: true},
    {table: 'p', column: 'name', type: 'text', kind: 'text', maxLength: null, nullable: true, unique: false},
    {table: 'p', column: 'ref', type: 'text', kind: 'text', maxLength: null, nullable: true, unique: false},
    {table: 'p', column: 'kind', type: 'text', kind: 'text', maxLength: null, nullable: true, unique: false},
    {table: 'p', column: 'note', type: 'text', kind: 'text', maxLength: null, nullable: true, unique: false},
  ],
};
const rules = parseMaskingRules(`salt: \${S}
rules:
  - table: p
    columns: {name: fake-name, ref: {strategy: partial, keep_last: 2, mask_char: '#'}, kind: {strategy: constant, value: "it's"}, note: null}
`, {variables: {S: 'unit-test-salt-0123456789'}});
const plan = buildMaskingPlan(rules, catalog);

describe('masking scanner SQL', () => {
  it('snapshots digests of the compared columns by id', () => {
    expect(snapshotStatements(plan)).toEqual([
      'DROP TABLE IF EXISTS pg_temp.osn_before_0',
      `CREATE TEMP TABLE osn_before_0 AS SELECT t.id, ` +
        `CASE WHEN t."name"::text IS NULL OR t."name"::text = '' THEN NULL ELSE sha256(convert_to(t."name"::text, 'UTF8')) END AS c0, ` +
        `CASE WHEN t."ref"::text IS NULL OR t."ref"::text = '' THEN NULL ELSE sha256(convert_to(t."ref"::text, 'UTF8')) END AS c1, ` +
        `CASE WHEN t."kind"::text IS NULL OR t."kind"::text = '' THEN NULL ELSE sha256(convert_to(t."kind"::text, 'UTF8')) END AS c2 ` +
        `FROM public."p" AS t WHERE t."name" IS NOT NULL OR t."ref" IS NOT NULL OR t."kind" IS NOT NULL`,
    ]);
  });

  it('compares after masking, exempting values a strategy may legitimately repeat', () => {
    expect(unchangedQuery(plan.tables[0]!, 0)).toBe(
      `SELECT count(*) FILTER (WHERE b.c0 = sha256(convert_to(t."name"::text, 'UTF8'))) AS "name", ` +
      `count(*) FILTER (WHERE b.c1 = sha256(convert_to(t."ref"::text, 'UTF8')) AND replace(t."ref"::text, '#', '') <> '') AS "ref", ` +
      `count(*) FILTER (WHERE b.c2 = sha256(convert_to(t."kind"::text, 'UTF8')) AND t."kind"::text IS DISTINCT FROM 'it''s') AS "kind" ` +
      `FROM public."p" AS t JOIN pg_temp.osn_before_0 AS b ON b.id = t.id`);
  });

  it('searches every text column for e-mails, and for phones except in generated values', () => {
    const sql = patternQuery(plan.tables[0]!, ['example.invalid']) ?? '';
    expect(sql.match(/ AS e\d/g)).toEqual([' AS e0', ' AS e1', ' AS e2', ' AS e3']);
    expect(sql.match(/ AS p\d/g)).toEqual([' AS p1', ' AS p2', ' AS p3']); // name is fake-name
  });

  it('fails with every finding as a reason', () => {
    const report = {
      ok: false, scannedColumns: 4, comparedColumns: 3,
      findings: [
        {kind: 'unchanged', table: 'p', column: 'name', rows: 3},
        {kind: 'email', table: 'p', column: 'note', rows: 1},
        {kind: 'phone', table: 'p', column: 'note', rows: 2},
        {kind: 'uncovered', table: 'p', column: 'x_new', rows: 0},
      ] as const,
    };
    expect(() => assertScanClean(report, 'db1')).toThrow(PolicyDeniedError);
    try {
      assertScanClean(report, 'db1');
    } catch (err) {
      expect((err as PolicyDeniedError).reasons).toEqual(report.findings.map(describeFinding));
      expect((err as Error).message).toContain('p.x_new: text column not covered by any rule');
    }
    expect(() => assertScanClean({ok: true, findings: [], scannedColumns: 1, comparedColumns: 1}, 'db1')).not.toThrow();
  });
});
