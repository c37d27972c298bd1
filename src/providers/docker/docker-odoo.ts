/**
 * Odoo containers of the docker-local provider: the generated config put into a container, the
 * env's data volume, and one-off jobs (`odoo [command] -c <config> ...args` in a throwaway
 * container, removed afterwards, failing with the log tail).
 */
import {randomBytes} from 'node:crypto';
import {InterruptedError, ProviderError} from '../../core/errors.js';
import {cronThreadsFor} from '../../core/odoo/odoo-config.js';
import {Secret} from '../../core/secret.js';
import {freePort} from '../local/free-port.js';
import type {EnvironmentType, OdooCode, OdooJobResult, OdooJobSpec} from '../provider.js';
import type {PgEndpoint} from './docker-postgres.js';
import type {DockerEngine} from './engine.js';
import {
  ODOO_CONFIG_FILE, ODOO_CONTAINER_PORT, dataVolumeName, envLabels, odooContainerConfig, odooContainerSpec, volumeSpec,
  type DockerNetworkMode,
} from './specs.js';

export interface OdooConfigTarget {
  readonly database: string;
  readonly envType: EnvironmentType;
  readonly code: OdooCode;
  readonly maxCronThreads?: number | undefined;
  readonly httpPort: number;
}

export class DockerOdoo {
  constructor(
    private readonly deps: {readonly engine: DockerEngine; readonly project: string; readonly network: DockerNetworkMode; readonly defaultImage: string},
  ) {}

  /** The image a piece of code runs in (a release's built image, else odoo.image). */
  image(code: OdooCode): string {
    return code.image ?? this.deps.defaultImage;
  }

  async ensureDataVolume(env: string): Promise<void> {
    await this.deps.engine.ensureVolume(volumeSpec(dataVolumeName(this.deps.project, env), envLabels(this.deps.project, env, 'data')));
  }

  /** Renders the Odoo config (random master password) and puts it into a created container. */
  async putConfig(id: string, pg: PgEndpoint, target: OdooConfigTarget): Promise<void> {
    const text = odooContainerConfig({
      network: this.deps.network,
      project: this.deps.project,
      database: target.database,
      postgresPort: pg.port,
      dbPassword: pg.state.odooPassword,
      adminPassword: new Secret(randomBytes(18).toString('base64url')),
      httpPort: target.httpPort,
      addonsPaths: target.code.addonsPaths,
      maxCronThreads: target.maxCronThreads ?? cronThreadsFor(target.envType),
      proxyMode: true,
    });
    await this.deps.engine.putFile(id, '/', ODOO_CONFIG_FILE.slice(1), text, 0o644);
  }

  /** A one-off Odoo container, removed afterwards; ProviderError with the log tail on a non-zero exit. */
  async job(pg: PgEndpoint, spec: OdooJobSpec, signal: AbortSignal): Promise<OdooJobResult> {
    const {engine, project, network} = this.deps;
    if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
    const image = this.image(spec.code);
    await engine.requireImage(image);
    await this.ensureDataVolume(spec.env);
    const args = [...(spec.command ? [spec.command] : []), '-c', ODOO_CONFIG_FILE, ...spec.args];
    const id = await engine.create(odooContainerSpec({project, env: spec.env, image, network, role: 'job', args}));
    if (!id) throw new ProviderError('docker: could not create the Odoo job container', {retryable: true});
    let exitCode: number;
    let logTail: string[];
    try {
      await this.putConfig(id, pg, {...spec, httpPort: network === 'host' ? await freePort() : ODOO_CONTAINER_PORT});
      await engine.start(id);
      exitCode = await engine.wait(id, signal);
      logTail = await engine.logTail(id, 30);
    } finally {
      await engine.remove(id).catch(() => false);
    }
    if (signal.aborted) throw new InterruptedError('interrupted while Odoo was running', {cause: signal.reason});
    if (exitCode !== 0) {
      throw new ProviderError(`odoo ${[spec.command, ...spec.args].filter(Boolean).join(' ')} exited with status ${exitCode}`, {
        data: {exitCode, logTail},
      });
    }
    return {exitCode, logTail};
  }
}
