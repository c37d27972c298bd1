/**
 * Verifies that a database is neutralized: no active mail server but the dummy (and the dummy is
 * there), SMTP credentials cleared, no active cron but the autovacuum job, no enabled payment
 * provider outside test mode, no active incoming mail server, database.is_neutralized = true.
 * Checks of tables a module brings (fetchmail_server, payment_provider) are skipped when the module
 * is not installed; a missing base table fails its check.
 */
import {ProviderError} from '../errors.js';
import type {SqlClient} from './env-database.js';
import {verificationQueries, VERIFIED_TABLES} from './neutralize-sql.js';

export interface NeutralizeCheck {
  readonly name: string;
  readonly description: string;
  readonly ok: boolean;
  /** What failed the check (server names, cron names...); never credentials. */
  readonly offenders: readonly string[];
  readonly skipped?: string;
}

export interface NeutralizeVerification {
  readonly ok: boolean;
  readonly checks: readonly NeutralizeCheck[];
}

/** How many offenders a check lists (the count is exact). */
const MAX_LISTED = 20;

export async function verifyNeutralization(client: SqlClient): Promise<NeutralizeVerification> {
  const {rows} = await client.query<{table_name: string; column_name: string}>(
    `SELECT table_name::text, column_name::text FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = ANY($1::text[])`,
    [VERIFIED_TABLES],
  );
  const cols = new Map<string, Set<string>>();
  for (const r of rows) {
    let set = cols.get(r.table_name);
    if (!set) cols.set(r.table_name, (set = new Set()));
    set.add(r.column_name);
  }
  const checks: NeutralizeCheck[] = [];
  for (const q of verificationQueries(cols)) {
    if (q.skipped !== undefined) {
      checks.push({name: q.name, description: q.description, ok: true, offenders: [], skipped: q.skipped});
    } else if (q.missing !== undefined || q.sql === undefined) {
      checks.push({name: q.name, description: q.description, ok: false, offenders: [q.missing ?? 'cannot be checked']});
    } else {
      const found = (await client.query<{label: string}>(q.sql)).rows.map((r) => r.label);
      const offenders = found.length > MAX_LISTED ? [...found.slice(0, MAX_LISTED), `... ${found.length - MAX_LISTED} more`] : found;
      checks.push({name: q.name, description: q.description, ok: found.length === 0, offenders});
    }
  }
  return {ok: checks.every((c) => c.ok), checks};
}

/** Throws ProviderError (not retryable) naming every failed check. */
export function assertNeutralized(v: NeutralizeVerification, database: string): void {
  if (v.ok) return;
  const failed = v.checks.filter((c) => !c.ok);
  const lines = failed.map((c) => `${c.name}: ${c.description} — found ${c.offenders.join(', ')}`);
  throw new ProviderError(`neutralization of ${database} is not verified (${failed.length} check${failed.length === 1 ? '' : 's'} failed):\n  ${lines.join('\n  ')}`, {
    retryable: false,
    data: {failedChecks: failed.map((c) => ({name: c.name, offenders: c.offenders}))},
    actions: [
      'a custom module may re-enable mail servers, crons or providers: give it a data/neutralize.sql or fix it',
      'the environment was not started; its database is left for inspection',
    ],
  });
}
