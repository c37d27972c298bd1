import {describe, expect, it} from 'vitest';
import {cloneParameters, odooDatetime, uuid1} from '../../../src/core/clone/prepare-clone.js';
import {ProviderError} from '../../../src/core/errors.js';
import {databaseUrl} from '../../../src/core/neutralize/env-database.js';
import {chooseMethod} from '../../../src/core/neutralize/neutralize-service.js';
import {
  credentialStatements, guarded, odooHasNeutralize, platformNeutralizeStatements, verificationQueries,
} from '../../../src/core/neutralize/neutralize-sql.js';
import {assertNeutralized} from '../../../src/core/neutralize/neutralize-verify.js';

describe('neutralization SQL', () => {
  it.each([
    ['14.0', false], ['15.0', false], ['saas~15.2', false], ['16.0', true], ['17.0', true], ['saas~17.4', true], ['18.0+e', true], ['nonsense', false],
  ])('odoo %s has neutralize: %s', (version, expected) => {
    expect(odooHasNeutralize(version)).toBe(expected);
    expect(chooseMethod(version)).toBe(expected ? 'odoo' : 'sql');
  });

  it('lets the method be forced', () => {
    expect(chooseMethod('17.0', 'sql')).toBe('sql');
    expect(chooseMethod('15.0', 'odoo')).toBe('odoo');
  });

  it('guards statements on the table and columns existing', () => {
    expect(guarded('fetchmail_server', ['active'], 'UPDATE fetchmail_server SET active = false')).toBe(
      "DO $osn$ BEGIN IF to_regclass('public.fetchmail_server') IS NOT NULL AND (SELECT count(*) FROM information_schema.columns " +
      "WHERE table_schema = 'public' AND table_name = 'fetchmail_server' AND column_name IN ('active')) = 1 " +
      'THEN EXECUTE $sql$UPDATE fetchmail_server SET active = false$sql$; END IF; END $osn$');
  });

  it('covers the tables of the facts and clears credentials', () => {
    const all = platformNeutralizeStatements().join('\n');
    for (const t of ['ir_mail_server', 'ir_cron', 'ir_config_parameter', 'fetchmail_server', 'mail_template', 'payment_provider', 'payment_acquirer', 'website']) {
      expect(all).toContain(`to_regclass('public.${t}')`);
    }
    expect(all).toContain("'neutralization - disable emails', 1025, 'invalid'");
    expect(all).toContain("name = 'autovacuum_job'");
    const creds = credentialStatements().join('\n');
    expect(creds).toContain('SET smtp_user = NULL, smtp_pass = NULL');
    expect(creds).toContain('UPDATE fetchmail_server SET password = NULL');
  });

  it('builds verification queries for what exists; module checks are skipped, base ones fail', () => {
    const cols = new Map<string, Set<string>>([
      ['ir_mail_server', new Set(['id', 'name', 'active', 'smtp_host', 'smtp_user', 'smtp_pass'])],
      ['ir_cron', new Set(['id', 'active', 'cron_name'])],
      ['ir_model_data', new Set(['model', 'module', 'name', 'res_id'])],
      ['payment_acquirer', new Set(['id', 'state', 'provider'])],
    ]);
    const q = verificationQueries(cols);
    expect(q.map((c) => c.name)).toEqual(['mail-servers', 'mail-dummy', 'smtp-credentials', 'crons', 'payment-providers', 'fetchmail', 'neutralized-flag']);
    expect(q.find((c) => c.name === 'payment-providers')?.sql).toContain('FROM payment_acquirer');
    expect(q.find((c) => c.name === 'fetchmail')).toMatchObject({skipped: 'module not installed'});
    expect(q.find((c) => c.name === 'neutralized-flag')).toMatchObject({missing: expect.stringContaining('ir_config_parameter')});
    expect(q.find((c) => c.name === 'crons')?.sql).toContain('coalesce(cron_name::text');
  });

  it('fails naming every failed check', () => {
    const checks = [
      {name: 'mail-servers', description: 'no active mail server but the dummy', ok: false, offenders: ['Mailgun (smtp.mailgun.org)']},
      {name: 'crons', description: 'no active cron', ok: true, offenders: []},
      {name: 'fetchmail', description: 'no active incoming mail server', ok: false, offenders: ['IMAP']},
    ];
    expect(() => assertNeutralized({ok: false, checks}, 'db')).toThrow(ProviderError);
    try {
      assertNeutralized({ok: false, checks}, 'db');
    } catch (err) {
      expect((err as Error).message).toMatch(/2 checks failed[\s\S]*mail-servers: .*Mailgun[\s\S]*fetchmail: /);
      expect((err as ProviderError).retryable).toBe(false);
      expect((err as ProviderError).data?.['failedChecks']).toEqual([{name: 'mail-servers', offenders: ['Mailgun (smtp.mailgun.org)']}, {name: 'fetchmail', offenders: ['IMAP']}]);
    }
  });

  it('points an admin URL at another database', () => {
    expect(databaseUrl('postgresql://postgres@/postgres?host=%2Ftmp%2Fx&port=5432', 'shop_stg')).toBe('postgresql://postgres@/shop_stg?host=%2Ftmp%2Fx&port=5432');
    expect(databaseUrl('postgres://u:p@db:5433/postgres', 'a b')).toBe('postgres://u:p@db:5433/a%20b');
    expect(databaseUrl('postgres://u@db:5433', 'x')).toBe('postgres://u@db:5433/x');
  });
});

describe('clone identity', () => {
  const now = new Date('2024-05-06T07:08:09.123Z');
  it('makes uuid1 values like Odoo (time-based, random node with the multicast bit)', () => {
    const id = uuid1(now, Uint8Array.from([0xff, 0xff, 0, 1, 2, 3, 4, 5]));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const [low, mid, hi] = id.split('-');
    const t = (BigInt(`0x${hi!.slice(1)}`) << 48n) | (BigInt(`0x${mid}`) << 32n) | BigInt(`0x${low}`);
    expect(Number((t - 0x01b21dd213814000n) / 10000n)).toBe(now.getTime());
    expect(id.split('-')[3]).toBe('bfff'); // variant bits 10, 14 random bits
    expect(id.split('-')[4]).toBe('010102030405'); // random node with the multicast bit set
    expect(uuid1(now, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0])).split('-')[3]).toBe('8000');
  });

  it('sets the identity parameters and freezes the base URL', () => {
    const {params, identity} = cloneParameters('https://staging.example.test/', now, {uuid1Bytes: new Uint8Array(8), secret: 's3cr3t'});
    expect(identity).toEqual({uuid: expect.stringMatching(/-1/), createDate: '2024-05-06 07:08:09', baseUrl: 'https://staging.example.test'});
    expect(params.map(([k]) => k)).toEqual(['database.uuid', 'database.secret', 'database.create_date', 'web.base.url', 'web.base.url.freeze']);
    expect(Object.fromEntries(params)).toMatchObject({'database.secret': 's3cr3t', 'web.base.url.freeze': 'True', 'web.base.url': 'https://staging.example.test'});
    expect(odooDatetime(now)).toBe('2024-05-06 07:08:09');
  });
});
