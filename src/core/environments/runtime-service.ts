/** The project's runtime as a whole: what runs (status), stopping it (down), and Odoo logs. */
import type pg from 'pg';
import {NotFoundError} from '../errors.js';
import {validateEnvName} from '../env/env-name.js';
import {query} from '../store/pool.js';
import type {ProjectEndpoints, Provider, ReleaseInstance} from '../../providers/provider.js';
import type {Environment} from './environment-record.js';
import type {EnvironmentRepository} from './environment-repository.js';

export interface RuntimeStatus {
  readonly provider: string;
  /** The project's infrastructure (its PostgreSQL server; the router where there is one). */
  readonly infrastructure: ProjectEndpoints;
  readonly environments: readonly (Environment & {readonly instances: readonly Pick<ReleaseInstance, 'launchId' | 'state' | 'url' | 'release' | 'routed'>[]})[];
}

export class RuntimeService {
  constructor(private readonly deps: {
    readonly provider: () => Promise<Provider>;
    readonly environments: () => Promise<EnvironmentRepository>;
    readonly pool: () => Promise<pg.Pool>;
    readonly projectId: () => Promise<string>;
  }) {}

  async status(signal: AbortSignal): Promise<RuntimeStatus> {
    const provider = await this.deps.provider();
    const envs = await (await this.deps.environments()).list();
    const instances = await provider.list({}, signal);
    return {
      provider: provider.name,
      infrastructure: await provider.prepare(signal),
      environments: envs.map((e) => ({
        ...e,
        instances: instances.filter((i) => i.env === e.name).map(({launchId, state, url, release, routed}) => ({launchId, state, url, release, routed})),
      })),
    };
  }

  /** Stops every Odoo of the project and its infrastructure; databases and filestores stay. Audited first. */
  async down(signal: AbortSignal): Promise<{stopped: number}> {
    const provider = await this.deps.provider();
    const running = (await provider.list({}, signal)).filter((i) => i.state === 'running');
    await query(await this.deps.pool(), `select ops.record_audit($1, 'project.down', null, null, null, $2)`,
      [await this.deps.projectId(), {instances: running.map((i) => i.launchId)}]);
    await provider.down(signal);
    return {stopped: running.length};
  }

  /** The Odoo log of an environment's current instance. */
  async logs(env: string, opts: {follow: boolean; tail?: number | undefined}, signal: AbortSignal): Promise<AsyncIterable<string>> {
    const name = validateEnvName(env);
    const provider = await this.deps.provider();
    const instances = await provider.list({env: name}, signal);
    const current = instances.find((i) => i.routed) ?? [...instances].sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
    if (!current) throw new NotFoundError(`environment "${name}" has no Odoo instance`, {actions: ['odoo-sh-next env list']});
    return provider.logs(current, {follow: opts.follow, ...(opts.tail !== undefined ? {tail: opts.tail} : {})}, signal);
  }
}
