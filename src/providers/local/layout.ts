/**
 * Where the local provider keeps things under <projectRoot>/.odoo-sh-next/. Pure (node:path only).
 *
 * .odoo-sh-next/
 *   postgres/                         the project's PostgreSQL cluster (PostgresCluster)
 *   odoo-role.password                password of the `odoo` role (0600)
 *   envs/<env>/
 *     data/                           Odoo data_dir: filestore/<db>/, sessions/
 *     xdg/                            XDG_DATA_HOME of the env's Odoo processes
 *     route.json                      the instance the env URL points at
 *     instances/<launch-id>/          one started release
 *       odoo.conf  odoo.pid  odoo.log  state.json
 *     jobs/<id>/                      one-off Odoo commands (odoo.log kept, odoo.conf removed)
 *   templates/
 *     data/filestore/tpl_<key16>/     filestores of the template cache
 *     jobs/<id>/                      template builds
 */
import {join} from 'node:path';
import {UsageError} from '../../core/errors.js';
import {validateEnvName} from '../../core/env/env-name.js';

const LAUNCH_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A launch id names a folder: letters, digits, `.`, `_`, `-` (a UUID fits). */
export function validateLaunchId(launchId: string): string {
  if (!LAUNCH_ID_RE.test(launchId) || launchId.includes('..')) {
    throw new UsageError(`invalid launch id ${JSON.stringify(launchId)}: use letters, digits, ".", "_" and "-" (at most 128)`);
  }
  return launchId;
}

export class LocalLayout {
  readonly stateDir: string;
  readonly postgresRoot: string;
  readonly rolePasswordFile: string;
  readonly envsDir: string;
  readonly templatesDir: string;
  readonly templateDataDir: string;

  constructor(readonly projectRoot: string) {
    this.stateDir = join(projectRoot, '.odoo-sh-next');
    this.postgresRoot = join(this.stateDir, 'postgres');
    this.rolePasswordFile = join(this.stateDir, 'odoo-role.password');
    this.envsDir = join(this.stateDir, 'envs');
    this.templatesDir = join(this.stateDir, 'templates');
    this.templateDataDir = join(this.templatesDir, 'data');
  }

  envDir(env: string): string {
    return join(this.envsDir, validateEnvName(env));
  }

  dataDir(env: string): string {
    return join(this.envDir(env), 'data');
  }

  xdgDir(env: string): string {
    return join(this.envDir(env), 'xdg');
  }

  routeFile(env: string): string {
    return join(this.envDir(env), 'route.json');
  }

  instancesDir(env: string): string {
    return join(this.envDir(env), 'instances');
  }

  instanceDir(env: string, launchId: string): string {
    return join(this.instancesDir(env), validateLaunchId(launchId));
  }

  jobsDir(env: string): string {
    return join(this.envDir(env), 'jobs');
  }

  /** <data_dir>/filestore/<database>, Odoo's own layout. */
  filestoreDir(dataDir: string, database: string): string {
    return join(dataDir, 'filestore', database);
  }
}
