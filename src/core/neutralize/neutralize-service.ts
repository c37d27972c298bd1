/**
 * Neutralization of a copied database: Odoo's own `odoo-bin neutralize` when the series has it
 * (16.0+), the platform's SQL otherwise; then the credentials Odoo leaves behind are cleared; then
 * the result is verified. A failed check throws (ProviderError naming every check), so the caller
 * never starts Odoo on it.
 */
import {isOdooShError, ProviderError} from '../errors.js';
import type {EnvironmentType, OdooCode, Provider} from '../../providers/provider.js';
import {inTransaction, withEnvDatabase, type SqlClient, type StepEvent} from './env-database.js';
import {credentialStatements, odooHasNeutralize, platformNeutralizeStatements} from './neutralize-sql.js';
import {assertNeutralized, verifyNeutralization, type NeutralizeCheck} from './neutralize-verify.js';

export type NeutralizeMethod = 'odoo' | 'sql';

export interface NeutralizeOptions {
  readonly provider: Pick<Provider, 'database' | 'runOdoo'>;
  readonly env: string;
  readonly envType: EnvironmentType;
  readonly database: string;
  readonly code: OdooCode;
  /** auto (default): odoo for 16.0+, sql before. */
  readonly method?: 'auto' | NeutralizeMethod | undefined;
  readonly signal: AbortSignal;
  readonly event?: StepEvent | undefined;
}

export interface NeutralizeResult {
  readonly database: string;
  readonly method: NeutralizeMethod;
  readonly checks: readonly NeutralizeCheck[];
}

export function chooseMethod(version: string, method: NeutralizeOptions['method'] = 'auto'): NeutralizeMethod {
  if (method !== 'auto') return method;
  return odooHasNeutralize(version) ? 'odoo' : 'sql';
}

async function runAll(client: SqlClient, statements: readonly string[], what: string): Promise<void> {
  try {
    await inTransaction(client, async () => {
      for (const sql of statements) await client.query(sql);
    });
  } catch (err) {
    if (isOdooShError(err)) throw err;
    throw new ProviderError(`${what} failed: ${(err as Error).message}`, {cause: err});
  }
}

/** Neutralizes, clears credentials, verifies (throws when a check fails). */
export async function neutralizeDatabase(o: NeutralizeOptions): Promise<NeutralizeResult> {
  const method = chooseMethod(o.code.version, o.method);
  if (method === 'odoo') {
    await o.event?.('info', `running odoo-bin neutralize on ${o.database}`);
    try {
      await o.provider.runOdoo({env: o.env, envType: o.envType, database: o.database, code: o.code, command: 'neutralize', args: ['-d', o.database]}, o.signal);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      throw new ProviderError(`odoo-bin neutralize failed on ${o.database}: THE DATABASE IS NOT NEUTRALIZED (${err.message})`, {
        cause: err,
        retryable: false,
        data: err.data ?? {},
        actions: err.actions,
      });
    }
  } else {
    await o.event?.('info', `Odoo ${o.code.version} has no neutralize command: applying the platform's neutralization SQL to ${o.database}`);
  }
  return withEnvDatabase(o.provider, o.env, o.database, o.signal, async (client) => {
    if (method === 'sql') await runAll(client, platformNeutralizeStatements(), 'neutralization SQL');
    await runAll(client, credentialStatements(), 'clearing mail and payment credentials');
    const verification = await verifyNeutralization(client);
    for (const c of verification.checks) {
      await o.event?.(c.ok ? 'info' : 'error', `check ${c.name}: ${c.ok ? (c.skipped ? `skipped (${c.skipped})` : 'ok') : `FAILED — ${c.offenders.join(', ')}`}`, {check: c.name});
    }
    assertNeutralized(verification, o.database);
    return {database: o.database, method, checks: verification.checks};
  });
}

/** Only the verification (e.g. before starting an environment built from a copy). */
export async function verifyNeutralized(o: Pick<NeutralizeOptions, 'provider' | 'env' | 'database' | 'signal'>): Promise<readonly NeutralizeCheck[]> {
  return withEnvDatabase(o.provider, o.env, o.database, o.signal, async (client) => {
    const v = await verifyNeutralization(client);
    assertNeutralized(v, o.database);
    return v.checks;
  });
}
