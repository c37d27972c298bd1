/**
 * Fresh databases fast: the first initialisation of a module set is kept as a template database
 * `tpl_<key16>` (+ a copy of its filestore); later fresh databases with the same key are
 * `CREATE DATABASE x TEMPLATE tpl_…` + a filestore copy, then get a new database.uuid, secret and
 * create date (a raw template copy keeps them) and a reset web.base.url.
 *
 * Templates are labelled by a JSON comment on the database (key, modules, createdAt, lastUsedAt);
 * the cache keeps at most maxCount templates younger than maxAgeMs (the least recently used go
 * first). Builds of one key are serialised with a PostgreSQL advisory lock (released if we die).
 */
import {randomUUID} from 'node:crypto';
import {existsSync} from 'node:fs';
import {rename, rm} from 'node:fs/promises';
import type pg from 'pg';
import type {Clock} from '../../core/clock.js';
import {ConflictError} from '../../core/errors.js';
import type {Logger} from '../../core/logger.js';
import {TEMPLATE_DATABASE_RE} from '../../core/odoo/database-name.js';
import {templateDatabaseName, templateKey} from '../../core/odoo/template-key.js';
import type {FreshDatabaseResult, FreshDatabaseSpec} from '../provider.js';
import {addonFileHashes} from './addon-hashes.js';
import type {LocalFilestore} from './local-filestore.js';
import {createDatabase, dropDatabase, ident, literal, type LocalPostgres, type PgEndpoint} from './local-postgres.js';
import type {LocalLayout} from './layout.js';

/** Runs `odoo-bin -i <modules> --stop-after-init [--without-demo=all]` against database with dataDir. */
export type InitRunner = (opts: {
  readonly database: string;
  readonly dataDir: string;
  readonly jobEnv: string | undefined;
  readonly spec: FreshDatabaseSpec;
  readonly signal: AbortSignal;
}) => Promise<void>;

export interface TemplateCacheLimits {
  /** 0 disables the cache (every fresh database is initialised directly). */
  readonly maxCount: number;
  readonly maxAgeMs: number;
}

export const DEFAULT_TEMPLATE_LIMITS: TemplateCacheLimits = {maxCount: 5, maxAgeMs: 14 * 24 * 3600 * 1000};

const FRESH_LABEL = 'odoo-sh.fresh';

interface TemplateMeta {
  readonly key: string;
  readonly version: string;
  readonly modules: readonly string[];
  readonly demo: boolean;
  readonly createdAt: string;
  readonly lastUsedAt: string;
}

function parseComment(text: string | null | undefined): Record<string, unknown> {
  try {
    const v = JSON.parse(text ?? '') as unknown;
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Odoo's `database.create_date` format (UTC). */
function odooDatetime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}


/**
 * Renames a freshly initialised database to its template name and marks it a template nobody
 * connects to. Odoo has exited, but its backends may take a moment to go away (55006: "being
 * accessed by other users"): retried for about 5 s.
 */
export async function renameToTemplate(c: pg.Client, building: string, tpl: string, clock: Pick<Clock, 'sleep'>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await c.query(`alter database ${ident(building)} rename to ${ident(tpl)}`);
      break;
    } catch (err) {
      if ((err as {code?: string}).code !== '55006' || attempt >= 25) throw err;
      await clock.sleep(200);
    }
  }
  await c.query(`alter database ${ident(tpl)} with is_template true allow_connections false`);
}
export class TemplateCache {
  constructor(
    private readonly deps: {
      readonly pg: LocalPostgres;
      readonly layout: LocalLayout;
      readonly filestore: LocalFilestore;
      readonly clock: Clock;
      readonly logger: Logger;
      readonly limits: TemplateCacheLimits;
      readonly labels: (env: string) => Readonly<Record<string, string>>;
      readonly runInit: InitRunner;
    },
  ) {}

  async createFresh(endpoint: PgEndpoint, spec: FreshDatabaseSpec, signal: AbortSignal): Promise<FreshDatabaseResult> {
    const {pg: pgs, filestore} = this.deps;
    const existing = await this.#databaseComment(endpoint, spec.database);
    if (existing !== undefined) {
      const fresh = existing[FRESH_LABEL] as {complete?: boolean; key?: string; cache?: FreshDatabaseResult['cache']} | undefined;
      if (fresh?.complete) {
        return {database: spec.database, created: false, cache: fresh.cache ?? 'hit', ...(fresh.key ? {templateKey: fresh.key} : {})};
      }
      if (!fresh) {
        throw new ConflictError(`database "${spec.database}" already exists and was not created as a fresh database`, {
          actions: ['drop it first (env destroy) or choose another database name'],
        });
      }
      // An unfinished earlier attempt: start over.
      await dropDatabase(pgs, endpoint, spec.database);
    }
    const target = {env: spec.env, database: spec.database};

    if (this.deps.limits.maxCount <= 0) {
      await createDatabase(pgs, endpoint, spec.database, {comment: this.#comment(spec.env, {complete: false})});
      await filestore.remove(target, signal);
      await this.deps.runInit({database: spec.database, dataDir: this.deps.layout.dataDir(spec.env), jobEnv: spec.env, spec, signal});
      await this.#label(endpoint, spec.database, spec.env, {complete: true, cache: 'off'});
      return {database: spec.database, created: true, cache: 'off'};
    }

    const fileHashes = await addonFileHashes({addonsPaths: spec.code.addonsPaths, bin: spec.code.bin, modules: spec.modules});
    const key = templateKey({odooVersion: spec.code.version, modules: spec.modules, demo: spec.demo, fileHashes});
    const tpl = templateDatabaseName(key);
    const cache: 'hit' | 'miss' = await this.#withKeyLock(endpoint, key, async (): Promise<'hit' | 'miss'> => {
      const hit = (await this.#databaseComment(endpoint, tpl)) !== undefined;
      if (!hit) await this.#build(endpoint, spec, key, tpl, signal);
      await createDatabase(pgs, endpoint, spec.database, {template: tpl, comment: this.#comment(spec.env, {complete: false, key})});
      await this.#touch(endpoint, tpl);
      return hit ? 'hit' : 'miss';
    }).then((c) => c ?? 'miss');
    await filestore.copy({path: this.deps.layout.filestoreDir(this.deps.layout.templateDataDir, tpl)}, target, signal);
    await this.#regenerateIdentity(endpoint, spec.database);
    await this.#label(endpoint, spec.database, spec.env, {complete: true, key, cache});
    await this.prune(endpoint, {keep: tpl}).catch((err: unknown) => {
      this.deps.logger.log('warn', `template cache prune failed: ${(err as Error).message}`);
    });
    return {database: spec.database, created: true, cache, templateKey: key};
  }

  /** Drops templates beyond maxCount (least recently used first) or older than maxAgeMs, except `keep`. */
  async prune(endpoint: PgEndpoint, opts: {readonly keep?: string} = {}): Promise<string[]> {
    const templates = await this.list(endpoint);
    const now = this.deps.clock.now().getTime();
    const byUse = [...templates].sort((a, b) => b.meta.lastUsedAt.localeCompare(a.meta.lastUsedAt));
    const dropped: string[] = [];
    let kept = 0;
    for (const t of byUse) {
      const tooOld = now - Date.parse(t.meta.createdAt) > this.deps.limits.maxAgeMs;
      if (t.name === opts.keep || (!tooOld && kept < this.deps.limits.maxCount)) {
        kept++;
        continue;
      }
      const done = await this.#withKeyLock(endpoint, t.meta.key, async () => {
        await dropDatabase(this.deps.pg, endpoint, t.name);
        await rm(this.deps.layout.filestoreDir(this.deps.layout.templateDataDir, t.name), {recursive: true, force: true});
        return true;
      }, {tryOnly: true});
      if (done) dropped.push(t.name);
    }
    return dropped;
  }

  async list(endpoint: PgEndpoint): Promise<{readonly name: string; readonly meta: TemplateMeta}[]> {
    return this.deps.pg.admin(endpoint, 'postgres', async (c) => {
      const {rows} = await c.query<{datname: string; comment: string | null}>(
        `select datname, shobj_description(oid, 'pg_database') as comment from pg_database where datname like 'tpl\\_%' order by datname`,
      );
      return rows
        .filter((r) => TEMPLATE_DATABASE_RE.test(r.datname))
        .map((r) => ({name: r.datname, meta: parseComment(r.comment)['odoo-sh.template'] as TemplateMeta}))
        .filter((t) => t.meta && typeof t.meta.lastUsedAt === 'string');
    });
  }

  async #build(endpoint: PgEndpoint, spec: FreshDatabaseSpec, key: string, tpl: string, signal: AbortSignal): Promise<void> {
    const {pg: pgs, layout, clock} = this.deps;
    const building = `${tpl}_build`;
    const buildStore = layout.filestoreDir(layout.templateDataDir, building);
    await dropDatabase(pgs, endpoint, building);
    await rm(buildStore, {recursive: true, force: true});
    await createDatabase(pgs, endpoint, building, {});
    this.deps.logger.log('info', `building template ${tpl} (${spec.modules.join(',')})`);
    await this.deps.runInit({database: building, dataDir: layout.templateDataDir, jobEnv: undefined, spec, signal});
    const now = clock.now().toISOString();
    const meta: TemplateMeta = {key, version: spec.code.version, modules: [...spec.modules], demo: spec.demo, createdAt: now, lastUsedAt: now};
    await pgs.admin(endpoint, 'postgres', async (c) => {
      await renameToTemplate(c, building, tpl, clock);
      await c.query(`comment on database ${ident(tpl)} is ${literal(JSON.stringify({'odoo-sh.managed': 'true', 'odoo-sh.template': meta}))}`);
    });
    const tplStore = layout.filestoreDir(layout.templateDataDir, tpl);
    await rm(tplStore, {recursive: true, force: true});
    if (existsSync(buildStore)) await rename(buildStore, tplStore);
  }

  async #touch(endpoint: PgEndpoint, tpl: string): Promise<void> {
    const comment = await this.#databaseComment(endpoint, tpl);
    const meta = comment?.['odoo-sh.template'] as TemplateMeta | undefined;
    if (!meta) return;
    const next = {...comment, 'odoo-sh.template': {...meta, lastUsedAt: this.deps.clock.now().toISOString()}};
    await this.deps.pg.admin(endpoint, 'postgres', (c) => c.query(`comment on database ${ident(tpl)} is ${literal(JSON.stringify(next))}`));
  }

  /** What Odoo's own duplicate does and a raw template copy does not. */
  async #regenerateIdentity(endpoint: PgEndpoint, database: string): Promise<void> {
    const params: [string, string][] = [
      ['database.uuid', randomUUID()],
      ['database.secret', randomUUID()],
      ['database.create_date', odooDatetime(this.deps.clock.now())],
      ['web.base.url', 'http://localhost:8069'],
    ];
    await this.deps.pg.admin(endpoint, database, async (c) => {
      const {rows} = await c.query<{ok: string | null}>(`select to_regclass('public.ir_config_parameter')::text as ok`);
      if (!rows[0]?.ok) return;
      for (const [key, value] of params) {
        await c.query('update ir_config_parameter set value = $2 where key = $1', [key, value]);
      }
    });
  }

  #comment(env: string, fresh: Record<string, unknown>): string {
    return JSON.stringify({...this.deps.labels(env), [FRESH_LABEL]: fresh});
  }

  async #label(endpoint: PgEndpoint, database: string, env: string, fresh: Record<string, unknown>): Promise<void> {
    await this.deps.pg.admin(endpoint, 'postgres', (c) => c.query(`comment on database ${ident(database)} is ${literal(this.#comment(env, fresh))}`));
  }

  /** The parsed comment of a database, or undefined when the database does not exist. */
  async #databaseComment(endpoint: PgEndpoint, database: string): Promise<Record<string, unknown> | undefined> {
    return this.deps.pg.admin(endpoint, 'postgres', async (c) => {
      const {rows} = await c.query<{comment: string | null}>(
        `select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1`,
        [database],
      );
      return rows[0] ? parseComment(rows[0].comment) : undefined;
    });
  }

  /** Runs fn holding the advisory lock of a key (tryOnly: returns undefined when it is held elsewhere). */
  async #withKeyLock<T>(endpoint: PgEndpoint, key: string, fn: () => Promise<T>, opts: {readonly tryOnly?: boolean} = {}): Promise<T | undefined> {
    const lockId = `odoo-sh-next/template/${key.slice(0, 16)}`;
    return this.deps.pg.admin(endpoint, 'postgres', async (c: pg.Client) => {
      if (opts.tryOnly) {
        const {rows} = await c.query<{ok: boolean}>('select pg_try_advisory_lock(hashtext($1)) as ok', [lockId]);
        if (!rows[0]?.ok) return undefined;
      } else {
        await c.query('select pg_advisory_lock(hashtext($1))', [lockId]);
      }
      try {
        return await fn();
      } finally {
        await c.query('select pg_advisory_unlock(hashtext($1))', [lockId]).catch(() => undefined);
      }
    });
  }
}
