/**
 * Neutralization SQL. Pure.
 *
 * - odooHasNeutralize: Odoo 16.0+ ships `odoo-bin neutralize` (each installed module's
 *   data/neutralize.sql); older series get platformNeutralizeStatements(), the same effects for
 *   the tables listed in ../shared/odoo-facts.md.
 * - credentialStatements() run after either: Odoo's neutralize only deactivates mail servers, the
 *   SMTP/IMAP credentials stay in the rows (a known gap), so the platform clears them, and clears the
 *   secret-looking columns of payment providers as well.
 * Every statement is guarded on its table (and columns) existing: fetchmail_server, payment_provider,
 * website... exist only when their module is installed.
 */

/** Odoo series with `odoo-bin neutralize`: 16.0 and later (also "saas~16.3", "17.0+e"). */
export function odooHasNeutralize(version: string): boolean {
  const m = /^(?:saas~)?(\d+)\./.exec(version.trim());
  return m !== null && Number(m[1]) >= 16;
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

function condition(table: string, columns: readonly string[]): string {
  const parts = [`to_regclass(${lit(`public.${table}`)}) IS NOT NULL`];
  if (columns.length > 0) {
    parts.push(`(SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ${lit(table)}` +
      ` AND column_name IN (${columns.map(lit).join(', ')})) = ${columns.length}`);
  }
  return parts.join(' AND ');
}

/** `sql` run only when the table and all the columns exist (EXECUTE: nothing is planned otherwise). */
export function guarded(table: string, columns: readonly string[], sql: string): string {
  return `DO $osn$ BEGIN IF ${condition(table, columns)} THEN EXECUTE $sql$${sql}$sql$; END IF; END $osn$`;
}

export const DUMMY_MAIL_SERVER = {name: 'neutralization - disable emails', host: 'invalid', port: 1025} as const;

const dummyInsert = (withAuth: boolean) =>
  `INSERT INTO ir_mail_server (name, smtp_port, smtp_host, smtp_encryption, active${withAuth ? ', smtp_authentication' : ''}) ` +
  `VALUES (${lit(DUMMY_MAIL_SERVER.name)}, ${DUMMY_MAIL_SERVER.port}, ${lit(DUMMY_MAIL_SERVER.host)}, 'none', true${withAuth ? ", 'login'" : ''})`;

/** What Odoo 16+'s neutralize does, for databases of series without it. */
export function platformNeutralizeStatements(): string[] {
  return [
    // base: mail servers off, plus an active dummy so a --smtp-server flag cannot serve as fallback
    guarded('ir_mail_server', ['active', 'smtp_host'], `UPDATE ir_mail_server SET active = false WHERE active AND smtp_host IS DISTINCT FROM ${lit(DUMMY_MAIL_SERVER.host)}`),
    `DO $osn$ BEGIN IF ${condition('ir_mail_server', ['name', 'smtp_host', 'smtp_port', 'smtp_encryption', 'active'])} THEN
  IF NOT EXISTS (SELECT 1 FROM ir_mail_server WHERE active AND smtp_host = ${lit(DUMMY_MAIL_SERVER.host)}) THEN
    IF ${condition('ir_mail_server', ['smtp_authentication'])} THEN EXECUTE $sql$${dummyInsert(true)}$sql$;
    ELSE EXECUTE $sql$${dummyInsert(false)}$sql$; END IF;
  END IF;
END IF; END $osn$`,
    guarded('ir_cron', ['active'], `UPDATE ir_cron SET active = false WHERE active AND id NOT IN (
  SELECT res_id FROM ir_model_data WHERE model = 'ir.cron' AND module = 'base' AND name = 'autovacuum_job' AND res_id IS NOT NULL)`),
    guarded('ir_config_parameter', ['key', 'value'], `INSERT INTO ir_config_parameter (key, value) VALUES ('database.is_neutralized', 'true')
  ON CONFLICT (key) DO UPDATE SET value = 'true'`),
    guarded('ir_act_server', ['state', 'webhook_url'], "UPDATE ir_act_server SET webhook_url = 'https://www.example.com' WHERE state = 'webhook'"),
    // mail
    guarded('fetchmail_server', ['active'], 'UPDATE fetchmail_server SET active = false'),
    guarded('mail_template', ['mail_server_id'], 'UPDATE mail_template SET mail_server_id = NULL'),
    // payment (payment_acquirer before 16.0)
    guarded('payment_provider', ['state'], "UPDATE payment_provider SET state = 'disabled' WHERE state NOT IN ('test', 'disabled')"),
    guarded('payment_acquirer', ['state'], "UPDATE payment_acquirer SET state = 'disabled' WHERE state NOT IN ('test', 'disabled')"),
    // website, delivery, oauth, iap
    guarded('website', ['domain'], 'UPDATE website SET domain = NULL'),
    guarded('website', ['cdn_activated'], 'UPDATE website SET cdn_activated = false'),
    guarded('delivery_carrier', ['prod_environment'], 'UPDATE delivery_carrier SET prod_environment = false'),
    guarded('delivery_carrier', ['active', 'delivery_type'], "UPDATE delivery_carrier SET active = false WHERE delivery_type NOT IN ('fixed', 'base_on_rule')"),
    guarded('auth_oauth_provider', ['enabled'], 'UPDATE auth_oauth_provider SET enabled = false'),
    guarded('iap_account', ['account_token'], "UPDATE iap_account SET account_token = account_token || '+disabled' WHERE account_token NOT LIKE '%+disabled'"),
  ];
}

/** Clears nullable text columns of `table` whose names look like credentials (`*_secret*`, `*_key`, ...). */
function clearSecretColumns(table: string): string {
  return `DO $osn$ DECLARE c record; BEGIN
  FOR c IN SELECT column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = ${lit(table)} AND is_nullable = 'YES'
              AND data_type IN ('character varying', 'text')
              AND column_name ~ '(secret|password|passwd|token|_key$|_key_|api_key|private)'
  LOOP
    EXECUTE format('UPDATE public.%I SET %I = NULL WHERE %I IS NOT NULL', ${lit(table)}, c.column_name, c.column_name);
  END LOOP;
END $osn$`;
}

/** Run after Odoo's neutralize or the platform's: credentials Odoo leaves in deactivated rows. */
export function credentialStatements(): string[] {
  return [
    guarded('ir_mail_server', ['smtp_user', 'smtp_pass'],
      'UPDATE ir_mail_server SET smtp_user = NULL, smtp_pass = NULL WHERE smtp_user IS NOT NULL OR smtp_pass IS NOT NULL'),
    guarded('fetchmail_server', ['password'], 'UPDATE fetchmail_server SET password = NULL WHERE password IS NOT NULL'),
    clearSecretColumns('payment_provider'),
    clearSecretColumns('payment_acquirer'),
  ];
}

/** Tables the verification reads (their columns are looked up first). */
export const VERIFIED_TABLES = [
  'ir_mail_server', 'ir_cron', 'ir_model_data', 'ir_config_parameter', 'fetchmail_server', 'payment_provider', 'payment_acquirer',
] as const;

export type ColumnsByTable = ReadonlyMap<string, ReadonlySet<string>>;

export interface CheckQuery {
  readonly name: string;
  readonly description: string;
  /** Rows of {label}: each one is an offender. */
  readonly sql?: string;
  /** The check cannot run because a base table/column is missing: it fails with this. */
  readonly missing?: string;
  /** The check does not apply (module not installed). */
  readonly skipped?: string;
}

/** The verification queries for the tables and columns present. */
export function verificationQueries(cols: ColumnsByTable): CheckQuery[] {
  const has = (t: string, ...c: string[]) => cols.has(t) && c.every((x) => cols.get(t)?.has(x));
  const label = (t: string, name: string) => (has(t, name) ? `coalesce(${name}::text, '#' || id)` : `'#' || id`);
  const base = (name: string, description: string, ok: boolean, sql: () => string, need: string): CheckQuery =>
    ok ? {name, description, sql: sql()} : {name, description, missing: `${need} is missing: not an Odoo database?`};
  const optional = (name: string, description: string, table: string | undefined, sql: (t: string) => string): CheckQuery =>
    table ? {name, description, sql: sql(table)} : {name, description, skipped: 'module not installed'};
  const provider = ['payment_provider', 'payment_acquirer'].find((t) => has(t, 'state'));
  return [
    base('mail-servers', 'no active mail server but the dummy (smtp_host invalid)', has('ir_mail_server', 'active', 'smtp_host'),
      () => `SELECT ${label('ir_mail_server', 'name')} || ' (' || coalesce(smtp_host, '') || ')' AS label FROM ir_mail_server
              WHERE active AND smtp_host IS DISTINCT FROM ${lit(DUMMY_MAIL_SERVER.host)} ORDER BY id`, 'ir_mail_server(active, smtp_host)'),
    base('mail-dummy', 'an active dummy mail server blocks fallback SMTP servers', has('ir_mail_server', 'active', 'smtp_host'),
      () => `SELECT 'no active mail server with smtp_host ${DUMMY_MAIL_SERVER.host}' AS label
              WHERE NOT EXISTS (SELECT 1 FROM ir_mail_server WHERE active AND smtp_host = ${lit(DUMMY_MAIL_SERVER.host)})`, 'ir_mail_server(active, smtp_host)'),
    has('ir_mail_server', 'smtp_user', 'smtp_pass')
      ? {name: 'smtp-credentials', description: 'SMTP credentials cleared', sql: `SELECT ${label('ir_mail_server', 'name')} AS label FROM ir_mail_server
          WHERE coalesce(smtp_user, '') <> '' OR coalesce(smtp_pass, '') <> '' ORDER BY id`}
      : {name: 'smtp-credentials', description: 'SMTP credentials cleared', skipped: 'no credential columns'},
    base('crons', 'no active cron but the autovacuum job', has('ir_cron', 'active') && has('ir_model_data', 'model', 'module', 'name', 'res_id'),
      () => `SELECT ${label('ir_cron', 'cron_name')} AS label FROM ir_cron WHERE active AND id NOT IN (
              SELECT res_id FROM ir_model_data WHERE model = 'ir.cron' AND module = 'base' AND name = 'autovacuum_job' AND res_id IS NOT NULL) ORDER BY id`,
      'ir_cron(active) / ir_model_data'),
    optional('payment-providers', 'no enabled payment provider outside test mode', provider,
      (t) => `SELECT ${label(t, has(t, 'code') ? 'code' : 'provider')} || ' (' || state || ')' AS label FROM ${t}
              WHERE state NOT IN ('test', 'disabled') ORDER BY id`),
    optional('fetchmail', 'no active incoming mail server', has('fetchmail_server', 'active') ? 'fetchmail_server' : undefined,
      (t) => `SELECT ${label(t, 'name')} AS label FROM ${t} WHERE active ORDER BY id`),
    base('neutralized-flag', 'database.is_neutralized is true', has('ir_config_parameter', 'key', 'value'),
      () => `SELECT 'database.is_neutralized is not true' AS label WHERE NOT EXISTS (
              SELECT 1 FROM ir_config_parameter WHERE key = 'database.is_neutralized' AND lower(value) IN ('true', '1'))`,
      'ir_config_parameter'),
  ];
}
