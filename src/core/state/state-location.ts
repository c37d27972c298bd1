import {join} from 'node:path';
import {ConfigError} from '../errors.js';
import type {Secret} from '../secret.js';

/** The database of the project's own cluster that holds the ops schema when no state.url is set. */
export const LOCAL_STATE_DATABASE = 'odoo_sh_next_state';

export type StateLocation =
  | {readonly kind: 'url'; readonly url: string | Secret}
  | {readonly kind: 'local-cluster'; readonly clusterRoot: string; readonly database: string}
  /** A database on the provider's own project PostgreSQL (docker-local: the project's Postgres container). */
  | {readonly kind: 'provider-postgres'; readonly provider: string; readonly database: string};

/** Pure: where the state store lives for this configuration. */
export function stateLocation(config: {
  readonly projectRoot: string;
  readonly state: {readonly url?: string | Secret | undefined};
  readonly provider: {readonly name: string};
}): StateLocation {
  if (config.state.url) return {kind: 'url', url: config.state.url};
  if (config.provider.name === 'local') {
    return {kind: 'local-cluster', clusterRoot: join(config.projectRoot, '.odoo-sh-next', 'postgres'), database: LOCAL_STATE_DATABASE};
  }
  if (config.provider.name === 'docker-local') {
    return {kind: 'provider-postgres', provider: config.provider.name, database: LOCAL_STATE_DATABASE};
  }
  throw new ConfigError(
    `state.url is required with provider "${config.provider.name}": its own Postgres cannot host the state store yet`,
    {actions: ['set state.url in odoo-sh-next.config.yaml (any PostgreSQL 13+ URL)']},
  );
}
