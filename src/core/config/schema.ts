/**
 * The configuration schema (zod v4). `configSchema` validates the file contents after
 * resolve-values.ts has interpolated `${VAR}` references and turned secret references into Secret
 * objects; its output has every default applied. `resolveConfig()` then makes paths absolute and
 * adds the file location, giving `OdooShConfig`, the type the rest of the code uses.
 *
 * Conventions of the resolved config:
 * - durations are {text, ms} objects (`ttl: {text: '72h', ms: 259200000}`), see duration.ts;
 * - paths (odoo.bin, odoo.addons[].path, postgres.binDir, backups.storage.path, masking.rules, upgrade.openupgrade on the local provider,
 *   provider.ssh.identityFile unless it starts with ~) are absolute;
 * - secrets are Secret objects (state.url only when it carries a password, else a string);
 * - branch rules have data, demo and modules filled in.
 *
 * Pure: no IO (node:path only).
 */
import {isAbsolute, resolve} from 'node:path';
import {z} from 'zod';
import {matching, strict} from './schema-helpers.js';
import {
  backupsSection,
  branchesSection,
  buildSection,
  maskingSection,
  odooSection,
  policiesSection,
  postgresSection,
  upgradeSection,
  providerSection,
  routerSection,
  stateSection,
} from './schema-sections.js';

export {
  DATA_SOURCES,
  DEFAULT_BRANCHES,
  ENVIRONMENT_TYPES,
  ODOO_VERSIONS,
  PROVIDER_NAMES,
  type DataSource,
  type EnvironmentType,
  type OdooVersion,
  type ProviderName,
} from './schema-sections.js';
export type {Duration} from './duration.js';

/** Project names: lowercase letters, digits and dashes, 1-40 characters, no leading/trailing dash. */
export const PROJECT_SLUG_RE = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

const configObject = strict({
  project: matching(PROJECT_SLUG_RE, 'a project slug (1-40 lowercase letters, digits and -, e.g. my-shop)').describe(
    'project name (slug): lowercase letters, digits and -, 1-40 characters',
  ),
  odoo: odooSection,
  provider: providerSection,
  postgres: postgresSection,
  router: routerSection,
  build: buildSection,
  state: stateSection,
  branches: branchesSection,
  backups: backupsSection,
  masking: maskingSection,
  policies: policiesSection,
  upgrade: upgradeSection,
});

/** The schema of the configuration file; the output has defaults applied (paths still as written). */
export const configSchema = configObject
  .transform((config) => ({
    ...config,
    branches: config.branches.map((rule) => ({...rule, modules: rule.modules ?? config.odoo.modules})),
  }))
  .describe('odoo-sh-next project configuration (odoo-sh-next.config.yaml)');

/** The validated config before path resolution. */
export type ParsedConfig = z.output<typeof configSchema>;

/** The resolved project configuration (defaults applied, paths absolute, secrets as Secret objects). */
export type OdooShConfig = ParsedConfig & {
  /** Absolute path of the file the configuration was read from. */
  readonly configFile: string;
  /** Folder of the configuration file; relative paths in the file are relative to it. */
  readonly projectRoot: string;
};

export type BranchRule = OdooShConfig['branches'][number];
export type AddonSource = OdooShConfig['odoo']['addons'][number];
export type BackupStorage = OdooShConfig['backups']['storage'];
export type PolicyRules = OdooShConfig['policies'];

/** Makes the paths of a parsed config absolute (relative to the config file's folder) and adds its location. */
export function resolveConfig(parsed: ParsedConfig, configFile: string, projectRoot: string): OdooShConfig {
  const abs = (path: string) => resolve(projectRoot, path);
  const {odoo, postgres, provider, backups, masking, upgrade} = parsed;
  const ssh = provider.ssh;
  return {
    ...parsed,
    odoo: {
      ...odoo,
      ...(odoo.bin === undefined ? {} : {bin: abs(odoo.bin)}),
      addons: odoo.addons.map((entry) => ('path' in entry ? {...entry, path: abs(entry.path)} : entry)),
    },
    postgres: postgres.binDir === undefined ? postgres : {...postgres, binDir: abs(postgres.binDir)},
    provider:
      ssh === undefined || ssh.identityFile === undefined || ssh.identityFile.startsWith('~') || isAbsolute(ssh.identityFile)
        ? provider
        : {...provider, ssh: {...ssh, identityFile: abs(ssh.identityFile)}},
    backups: {
      ...backups,
      storage: backups.storage.type === 'filesystem' ? {...backups.storage, path: abs(backups.storage.path)} : backups.storage,
    },
    masking: masking.rules === undefined ? masking : {...masking, rules: abs(masking.rules)},
    upgrade: upgrade.openupgrade === undefined || provider.name !== 'local' ? upgrade : {...upgrade, openupgrade: abs(upgrade.openupgrade)},
    configFile,
    projectRoot,
  };
}
