/**
 * The commented starter configuration written by `odoo-sh-next init`. Pure; the output always
 * loads cleanly (see test/unit/config/starter-config.test.ts).
 */
import {UsageError} from '../errors.js';
import {PROJECT_SLUG_RE} from './schema.js';
import {ODOO_VERSIONS, PROVIDER_NAMES, type OdooVersion, type ProviderName} from './schema-sections.js';

export interface StarterConfigOptions {
  project: string;
  provider: ProviderName;
  /** "16.0" | "17.0" | "18.0" (or 16/17/18); default "17.0". */
  odooVersion?: string;
  /** local provider: path to odoo-bin; when absent a commented placeholder is written. */
  odooBin?: string;
}

/** A YAML double-quoted string; `${` is escaped so it is not taken for a variable. */
function quoted(value: string): string {
  return JSON.stringify(value.replaceAll('${', '$${'));
}

function normaliseVersion(version: string | undefined): OdooVersion {
  const normalised = (version ?? '17.0').trim().replace(/^(\d+)$/, '$1.0');
  if (!(ODOO_VERSIONS as readonly string[]).includes(normalised)) {
    throw new UsageError(`unsupported Odoo version "${version}": expected one of ${ODOO_VERSIONS.join(', ')}`);
  }
  return normalised as OdooVersion;
}

export function starterConfig(opts: StarterConfigOptions): string {
  if (!PROJECT_SLUG_RE.test(opts.project)) {
    throw new UsageError(`invalid project name "${opts.project}": use 1-40 lowercase letters, digits and -, e.g. my-shop`);
  }
  if (!PROVIDER_NAMES.includes(opts.provider)) {
    throw new UsageError(`unknown provider "${opts.provider}": expected one of ${PROVIDER_NAMES.join(', ')}`);
  }
  const version = normaliseVersion(opts.odooVersion);
  const local = opts.provider === 'local';
  const lines: string[] = [];
  const add = (...more: string[]) => lines.push(...more);

  add(
    '# odoo-sh-next project configuration.',
    '# Reference: spec/contracts/config.schema.json (JSON Schema) in the odoo-sh-next package.',
    '# Any string value may use environment variables: ${NAME}, or ${NAME:-default}; write $${ for a literal "${".',
    '# Secrets (passwords, keys) never go in this file: use ${VAR}, {fromEnv: VAR} or {fromFile: ./path}.',
    '# Relative paths are relative to this file.',
    '',
    '# Project name: 1-40 lowercase letters, digits and dashes (used in database, container and host names).',
    `project: ${opts.project}`,
    '',
    '# The Odoo server every environment runs.',
    'odoo:',
    '  # Odoo series: "16.0", "17.0" or "18.0".',
    `  version: "${version}"`,
  );
  if (local) {
    add('  # Path to odoo-bin, or any executable taking Odoo\'s server flags.');
    add(opts.odooBin === undefined ? '  # bin: ./odoo/odoo-bin' : `  bin: ${quoted(opts.odooBin)}`);
  } else {
    add('  # Odoo container image.', `  image: "odoo:${version}"`);
  }
  add(
    '  # Where your addons come from: folders, or git repositories pinned to a commit:',
    '  #   - path: ./addons',
    '  #   - git: https://github.com/OCA/web.git',
    '  #     commit: 0123456789abcdef0123456789abcdef01234567   # full 40-character sha',
    '  #     subdir: .                                          # optional folder inside the repository',
    '  addons: []',
    '  # Modules installed when a database is created fresh.',
    '  modules: [base]',
    '',
    '# Where environments run: local | docker-local | ssh-host | k8s.',
    '# Only the settings block of the selected provider is used.',
    'provider:',
    `  name: ${opts.provider}`,
  );
  if (opts.provider === 'docker-local') {
    add('  docker:', '    # Network mode of the Odoo containers: bridge or host.', '    network: bridge', '    # socketPath: /var/run/docker.sock');
  } else if (opts.provider === 'ssh-host') {
    add(
      '  ssh:',
      '    # The server that runs the environments. Change this.',
      '    host: server.example.com',
      '    # user: deploy',
      '    port: 22',
      '    # identityFile: ~/.ssh/id_ed25519',
      '    # passphrase: ${SSH_KEY_PASSPHRASE}   # a secret: from the environment or {fromFile: ...}',
    );
  } else if (opts.provider === 'k8s') {
    add('  k8s:', '    # kubeconfig context (default: the current context).', '    # context: my-cluster', `    namespace: ${opts.project}`);
  }
  add('', '# The PostgreSQL server of the environments.', 'postgres:');
  if (local) add('  # Folder with initdb and pg_ctl (default: found on PATH).', '  # binDir: /usr/lib/postgresql/16/bin');
  add('  # Container image (container providers).', '  image: "postgres:16"');
  add(
    '',
    '# The HTTP router in front of the environments: each one is served at http://<environment>.<domain>.',
    'router:',
    '  domain: localhost',
    '  image: "caddy:2"',
    '',
    "# odoo-sh-next's own state (runs, events, audit log).",
    'state:',
    "  # Any PostgreSQL 13+ URL (default: the project's own PostgreSQL). A password must come from the",
    '  # environment or a file, e.g.:',
    '  # url: postgres://ops:${OPS_DB_PASSWORD}@db.internal:5432/odoo_sh_next',
    '  # How long events are kept (s, m, h, d or w).',
    '  eventRetention: 30d',
    '  # How long the logs runs keep (a build\'s Docker output) are kept.',
    '  logRetention: 180d',
    '  runMaxAttempts: 5',
    '  leaseSeconds: 60',
    '',
    '# Which branches get which environment. The first matching rule wins; patterns are globs.',
    '#   type: production | staging | preview | dev',
    '#   ttl:  preview/dev only, delete after this long without a push (e.g. 72h)',
    '#   data: fresh | clone-production (a masked copy of production); not allowed on production',
    '#   demo: demo data in fresh databases (default: true for preview and dev)',
    '#   modules: modules to install (default: odoo.modules)',
    'branches:',
    '  - pattern: main',
    '    type: production',
    "  - pattern: 'release/*'",
    '    type: staging',
    '    data: clone-production',
    "  - pattern: 'feature/*'",
    '    type: preview',
    '    ttl: 72h',
    "  - pattern: '**'",
    '    type: dev',
    '',
    '# Backups of production.',
    'backups:',
    '  # When automatic backups run: 5-field cron (minute hour day-of-month month day-of-week).',
    '  schedule: "0 3 * * *"',
    '  # How many automatic backups are kept.',
    '  retention: {daily: 7, weekly: 4, monthly: 3}',
    '  # Manual backups allowed per environment per day.',
    '  manualPerDay: 5',
    '  storage:',
    '    type: filesystem',
    '    path: .odoo-sh-next/backups',
    '    # Or an S3-compatible bucket:',
    '    # type: s3',
    '    # bucket: my-backups',
    '    # region: us-east-1',
    '    # endpoint: https://s3.example.com   # for S3-compatible services',
    '    # forcePathStyle: true',
    '    # accessKeyId: ${AWS_ACCESS_KEY_ID}',
    '    # secretAccessKey: ${AWS_SECRET_ACCESS_KEY}',
    '',
    '# Masking of personal data in production clones (staging, clone-production branches).',
    '# Point rules at a masking rules file, e.g. masking: {rules: ./masking.yaml}',
    'masking: {}',
    '',
    '# Rules that must hold before an action on an environment type runs, e.g.:',
    '#   production:',
    '#     - approvals >= 1 from role admin',
    '#     - backup younger than 24h',
    'policies: {}',
    '',
  );
  return lines.join('\n');
}
