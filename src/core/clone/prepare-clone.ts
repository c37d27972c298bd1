/**
 * Makes a copied database safe to start (staging clones, restores into another environment):
 *  1. identity: a new database.uuid (uuid1 like Odoo's), database.secret (uuid4: the HMAC key of
 *     sessions and CSRF tokens, so production's sessions stop working here) and
 *     database.create_date; web.base.url set to the environment's URL and frozen
 *     (web.base.url.freeze), since Odoo rewrites it on every admin login otherwise;
 *  2. neutralization, then its verification (neutralize-service.ts);
 *  3. masking, then its scan, when rules are configured (masking-service.ts); without rules an event
 *     says the clone keeps production's personal data.
 * Any failed check throws: the caller must not start Odoo on the database.
 */
import {randomBytes, randomUUID} from 'node:crypto';
import {systemClock, type Clock} from '../clock.js';
import type {EnvironmentType, OdooCode, Provider} from '../../providers/provider.js';
import {loadMaskingRules, maskDatabase, type MaskingResult} from '../masking/masking-service.js';
import type {MaskingRules} from '../masking/masking-rules.js';
import {withEnvDatabase, type StepEvent} from '../neutralize/env-database.js';
import {neutralizeDatabase, type NeutralizeMethod, type NeutralizeResult} from '../neutralize/neutralize-service.js';
import type {Secret} from '../secret.js';

/** 100 ns intervals between 1582-10-15 (the UUID epoch) and 1970-01-01. */
const UUID_EPOCH_OFFSET = 0x01b21dd213814000n;

/** A version-1 UUID for `now` with a random clock sequence and a random node (multicast bit set, RFC 4122 §4.5). Pure. */
export function uuid1(now: Date, random: Uint8Array): string {
  if (random.length < 8) throw new RangeError('uuid1 needs 8 random bytes');
  const t = BigInt(now.getTime()) * 10000n + UUID_EPOCH_OFFSET;
  const hex = (v: bigint, n: number) => v.toString(16).padStart(n, '0');
  const timeLow = t & 0xffffffffn;
  const timeMid = (t >> 32n) & 0xffffn;
  const timeHi = ((t >> 48n) & 0x0fffn) | 0x1000n;
  const clockSeq = ((((random[0] ?? 0) << 8) | (random[1] ?? 0)) & 0x3fff) | 0x8000;
  const node = Buffer.from(random.subarray(2, 8));
  node[0] = (node[0] ?? 0) | 0x01;
  return `${hex(timeLow, 8)}-${hex(timeMid, 4)}-${hex(timeHi, 4)}-${clockSeq.toString(16)}-${node.toString('hex')}`;
}

/** Odoo's datetime format (UTC, seconds). */
export const odooDatetime = (d: Date): string => d.toISOString().slice(0, 19).replace('T', ' ');

export interface CloneIdentity {
  readonly uuid: string;
  readonly createDate: string;
  readonly baseUrl: string;
}

/** The ir_config_parameter values a clone gets (the secret is returned apart: never printed). Pure. */
export function cloneParameters(url: string, now: Date, random: {uuid1Bytes: Uint8Array; secret: string}): {params: [string, string][]; identity: CloneIdentity} {
  const identity = {uuid: uuid1(now, random.uuid1Bytes), createDate: odooDatetime(now), baseUrl: url.replace(/\/+$/, '')};
  return {
    identity,
    params: [
      ['database.uuid', identity.uuid],
      ['database.secret', random.secret],
      ['database.create_date', identity.createDate],
      ['web.base.url', identity.baseUrl],
      ['web.base.url.freeze', 'True'],
    ],
  };
}

export type CloneMasking =
  | {readonly rulesFile: string; readonly salt?: Secret | undefined; readonly variables?: Readonly<Record<string, string | undefined>> | undefined}
  | {readonly rules: MaskingRules};

export interface PrepareCloneOptions {
  readonly provider: Pick<Provider, 'database' | 'runOdoo' | 'filestore'>;
  readonly env: string;
  readonly envType: EnvironmentType;
  readonly database: string;
  readonly code: OdooCode;
  /** The environment's URL (web.base.url). */
  readonly url: string;
  /** Rules file (variables: for ${VAR} in it; default process.env) or parsed rules; none: no masking. */
  readonly masking?: CloneMasking | undefined;
  readonly neutralizeMethod?: 'auto' | NeutralizeMethod | undefined;
  readonly signal: AbortSignal;
  readonly event?: StepEvent | undefined;
  readonly clock?: Clock | undefined;
}

export interface PrepareCloneResult {
  readonly database: string;
  readonly identity: CloneIdentity;
  readonly neutralize: NeutralizeResult;
  readonly masking: MaskingResult | null;
}

/** Writes a new identity into a copied database. */
export async function regenerateIdentity(
  o: Pick<PrepareCloneOptions, 'provider' | 'env' | 'database' | 'url' | 'signal' | 'clock'>,
): Promise<CloneIdentity> {
  const {params, identity} = cloneParameters(o.url, (o.clock ?? systemClock).now(), {uuid1Bytes: randomBytes(8), secret: randomUUID()});
  await withEnvDatabase(o.provider, o.env, o.database, o.signal, async (client) => {
    for (const [key, value] of params) {
      await client.query(
        `INSERT INTO ir_config_parameter (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [key, value],
      );
    }
  });
  return identity;
}

export async function prepareClonedDatabase(o: PrepareCloneOptions): Promise<PrepareCloneResult> {
  const identity = await regenerateIdentity(o);
  await o.event?.('info', `new database identity for ${o.database} (uuid ${identity.uuid}), web.base.url ${identity.baseUrl} (frozen)`);
  const neutralize = await neutralizeDatabase({
    provider: o.provider, env: o.env, envType: o.envType, database: o.database, code: o.code,
    method: o.neutralizeMethod, signal: o.signal, event: o.event,
  });
  await o.event?.('info', `${o.database} neutralized (${neutralize.method}) and verified`, {checks: neutralize.checks.map((c) => c.name)});
  if (!o.masking) {
    await o.event?.('warn', `no masking rules configured (masking.rules): ${o.database} keeps production's personal data`);
    return {database: o.database, identity, neutralize, masking: null};
  }
  const rules = 'rules' in o.masking
    ? o.masking.rules
    : await loadMaskingRules({file: o.masking.rulesFile, variables: o.masking.variables ?? process.env, salt: o.masking.salt});
  const masking = await maskDatabase({provider: o.provider, env: o.env, database: o.database, rules, signal: o.signal, event: o.event});
  await o.event?.('info', `${o.database} masked and scanned: ${masking.tables.length} table(s), ${masking.scan.scannedColumns} column(s) scanned`);
  return {database: o.database, identity, neutralize, masking};
}
