/**
 * Fresh databases of the docker-local provider, with a template cache like the local provider's:
 * the first initialisation of (image, modules, demo) is kept as a template database `tpl_<key16>`
 * plus its filestore in the data volume of the pseudo environment `tpl-cache`; later fresh
 * databases with the same key are `CREATE DATABASE … TEMPLATE` + a filestore copy, then get a new
 * database.uuid, secret and create date. The key covers the image id, so a rebuilt image never
 * reuses an old template. Builds of one key are serialised with a PostgreSQL advisory lock.
 * Templates are not pruned yet (destroying the project removes them).
 */
import {randomUUID} from 'node:crypto';
import type {Clock} from '../../core/clock.js';
import {ConflictError} from '../../core/errors.js';
import {templateDatabaseName, templateKey} from '../../core/odoo/template-key.js';
import {renameToTemplate} from '../local/template-cache.js';
import {ownershipLabels, type FreshDatabaseResult, type FreshDatabaseSpec} from '../provider.js';
import type {DockerFilestore} from './docker-filestore.js';
import type {DockerOdoo} from './docker-odoo.js';
import type {DockerPostgres, PgEndpoint} from './docker-postgres.js';
import type {DockerEngine} from './engine.js';

/** The pseudo environment holding the template filestores. */
export const TEMPLATE_ENV = 'tpl-cache';
const FRESH_LABEL = 'odoo-sh.fresh';

const odooDatetime = (d: Date): string => d.toISOString().slice(0, 19).replace('T', ' ');

export class DockerTemplates {
  constructor(
    private readonly deps: {
      readonly engine: DockerEngine;
      readonly postgres: DockerPostgres;
      readonly filestore: DockerFilestore;
      readonly odoo: DockerOdoo;
      readonly clock: Clock;
      readonly project: string;
      /** false: every fresh database is initialised directly (cache 'off'). */
      readonly enabled: boolean;
    },
  ) {}

  async createFresh(pg: PgEndpoint, spec: FreshDatabaseSpec, signal: AbortSignal): Promise<FreshDatabaseResult> {
    const {postgres, filestore} = this.deps;
    const existing = await postgres.databaseComment(pg, spec.database);
    if (existing !== undefined) {
      const fresh = existing[FRESH_LABEL] as {complete?: boolean; key?: string; cache?: FreshDatabaseResult['cache']} | undefined;
      if (fresh?.complete) return {database: spec.database, created: false, cache: fresh.cache ?? 'off', ...(fresh.key ? {templateKey: fresh.key} : {})};
      if (!fresh) {
        throw new ConflictError(`database "${spec.database}" already exists and was not created as a fresh database`, {
          actions: ['drop it first (env destroy) or choose another database name'],
        });
      }
      await postgres.dropDatabase(pg, spec.database); // an unfinished earlier attempt
    }
    const target = {env: spec.env, database: spec.database};
    if (!this.deps.enabled) {
      await postgres.createDatabase(pg, spec.database, {comment: this.#comment(spec.env, {complete: false})});
      await filestore.remove(target, signal);
      await this.#init(pg, spec.env, spec.database, spec, signal);
      await postgres.setComment(pg, spec.database, JSON.parse(this.#comment(spec.env, {complete: true, cache: 'off'})) as Record<string, unknown>);
      return {database: spec.database, created: true, cache: 'off'};
    }
    const image = this.deps.odoo.image(spec.code);
    const imageId = (await this.deps.engine.docker.getImage(image).inspect()).Id;
    const key = templateKey({
      odooVersion: spec.code.version, modules: spec.modules, demo: spec.demo,
      fileHashes: {'image-id': imageId, 'addons-path': spec.code.addonsPaths.join(',')},
    });
    const tpl = templateDatabaseName(key);
    const cache = await postgres.admin(pg, 'postgres', async (c) => {
      const lock = `odoo-sh-next/template/${key.slice(0, 16)}`;
      await c.query('select pg_advisory_lock(hashtext($1))', [lock]);
      try {
        const hit = (await postgres.databaseComment(pg, tpl)) !== undefined;
        if (!hit) await this.#build(pg, spec, key, tpl, signal);
        await postgres.createDatabase(pg, spec.database, {template: tpl, comment: this.#comment(spec.env, {complete: false, key})});
        return hit ? 'hit' : 'miss';
      } finally {
        await c.query('select pg_advisory_unlock(hashtext($1))', [lock]).catch(() => undefined);
      }
    });
    await filestore.copy({env: TEMPLATE_ENV, database: tpl}, target, signal);
    await this.#regenerateIdentity(pg, spec.database);
    await postgres.setComment(pg, spec.database, JSON.parse(this.#comment(spec.env, {complete: true, key, cache})) as Record<string, unknown>);
    return {database: spec.database, created: true, cache, templateKey: key};
  }

  async #init(pg: PgEndpoint, env: string, database: string, spec: FreshDatabaseSpec, signal: AbortSignal): Promise<void> {
    const args = ['-d', database, '-i', spec.modules.join(','), '--stop-after-init', ...(spec.demo ? [] : ['--without-demo=all'])];
    await this.deps.odoo.job(pg, {env, envType: 'dev', database, code: spec.code, args}, signal);
  }

  async #build(pg: PgEndpoint, spec: FreshDatabaseSpec, key: string, tpl: string, signal: AbortSignal): Promise<void> {
    const {postgres, filestore, clock} = this.deps;
    const building = `${tpl}_build`;
    await postgres.dropDatabase(pg, building);
    await filestore.remove({env: TEMPLATE_ENV, database: building}, signal);
    await postgres.createDatabase(pg, building, {});
    await this.#init(pg, TEMPLATE_ENV, building, spec, signal);
    await postgres.admin(pg, 'postgres', (c) => renameToTemplate(c, building, tpl, clock));
    const now = clock.now().toISOString();
    const meta = {key, version: spec.code.version, modules: [...spec.modules], demo: spec.demo, createdAt: now, lastUsedAt: now};
    await postgres.setComment(pg, tpl, {'odoo-sh.managed': 'true', 'odoo-sh.template': meta});
    await filestore.copy({env: TEMPLATE_ENV, database: building}, {env: TEMPLATE_ENV, database: tpl}, signal);
    await filestore.remove({env: TEMPLATE_ENV, database: building}, signal);
  }

  /** What Odoo's own duplicate does and a raw template copy does not. */
  async #regenerateIdentity(pg: PgEndpoint, database: string): Promise<void> {
    const params: [string, string][] = [
      ['database.uuid', randomUUID()],
      ['database.secret', randomUUID()],
      ['database.create_date', odooDatetime(this.deps.clock.now())],
      ['web.base.url', 'http://localhost:8069'],
    ];
    await this.deps.postgres.admin(pg, database, async (c) => {
      const {rows} = await c.query<{ok: string | null}>(`select to_regclass('public.ir_config_parameter')::text as ok`);
      if (!rows[0]?.ok) return;
      for (const [key, value] of params) await c.query('update ir_config_parameter set value = $2 where key = $1', [key, value]);
    });
  }

  #comment(env: string, fresh: Record<string, unknown>): string {
    return JSON.stringify({...ownershipLabels({project: this.deps.project, env}), [FRESH_LABEL]: fresh});
  }
}
