import {createHash, createHmac} from 'node:crypto';
import {describe, expect, it} from 'vitest';
import {PolicyDeniedError} from '../../../src/core/errors.js';
import {buildMaskingPlan, type Catalog} from '../../../src/core/masking/masking-plan.js';
import {parseMaskingRules} from '../../../src/core/masking/masking-rules.js';
import {assertScanClean, describeFinding, leakQuery, maskedAddressTest, patternQuery, unchangedFindings} from '../../../src/core/masking/masking-scanner.js';
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
  it('compares each written value with its original in the UPDATE, exempting values a strategy may legitimately repeat', () => {
    const sql = plan.tables[0]!.statement ?? '';
    expect(sql).toContain(` RETURNING coalesce(t."name"::text = s.o0 AND s.o0 <> '', false) AS u0, ` +
      `coalesce(t."ref"::text = s.o1 AND s.o1 <> '' AND replace(t."ref"::text, '#', '') <> '', false) AS u1, ` +
      `coalesce(t."kind"::text = s.o2 AND s.o2 <> '' AND t."kind"::text IS DISTINCT FROM 'it''s', false) AS u2)`);
    expect(sql).toContain('SELECT count(*) AS osn_rows, count(*) FILTER (WHERE u0) AS u0, count(*) FILTER (WHERE u1) AS u1, count(*) FILTER (WHERE u2) AS u2 FROM osn_u');
    expect(unchangedFindings(plan.tables[0]!, {osn_rows: '9', u0: '0', u1: '2', u2: '0'})).toEqual([{kind: 'unchanged', table: 'p', column: 'ref', rows: 2}]);
  });

  it('searches every text column for e-mails, and for phones except in generated values, in one pass', () => {
    const t = plan.tables[0]!;
    expect(t.generatedColumns).toEqual(['name']);
    const leaks = leakQuery(t, ['example.invalid']) ?? '';
    expect(leaks.match(/concat_ws\(E'\\n', t\."ref"::text, t\."kind"::text, t\."note"::text\)/g)).toHaveLength(3); // e-mails (twice), phones
    expect(leaks).toContain(`(t."name"::text LIKE '%@%' AND NOT ${maskedAddressTest('name', ['example.invalid'])} AND t."name"::text ~ `);
    expect(leaks).toMatch(/ AS e, count\(\*\) FILTER .* AS p FROM public\."p" AS t$/);
    const sql = patternQuery(t, ['example.invalid']) ?? '';
    expect(sql.match(/ AS e\d/g)).toEqual([' AS e0', ' AS e1', ' AS e2', ' AS e3']);
    expect(sql.match(/ AS p\d/g)).toEqual([' AS p1', ' AS p2', ' AS p3']);
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
