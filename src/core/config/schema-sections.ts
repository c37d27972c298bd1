/**
 * The sections of the configuration file (odoo, provider, postgres, router, state, branches,
 * backups, masking, policies). schema.ts assembles them. Pure: no IO.
 */
import picomatch from 'picomatch';
import {z} from 'zod';
import {Secret} from '../secret.js';
import {scheduleError} from '../backup/schedule-plan.js';
import {timeZoneError} from '../backup/retention-calendar.js';
import {pipIndexUrlProblem, pipTrustedHostProblem} from '../build/pip-index.js';
import {duration, matching, secret, strict, text, wholeNumber} from './schema-helpers.js';

export const ODOO_VERSIONS = ['16.0', '17.0', '18.0'] as const;
export type OdooVersion = (typeof ODOO_VERSIONS)[number];
export const PROVIDER_NAMES = ['local', 'docker-local', 'ssh-host', 'k8s'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
export const ENVIRONMENT_TYPES = ['production', 'staging', 'preview', 'dev'] as const;
export type EnvironmentType = (typeof ENVIRONMENT_TYPES)[number];
export const DATA_SOURCES = ['fresh', 'clone-production'] as const;
export type DataSource = (typeof DATA_SOURCES)[number];

const VERSIONS_TEXT = ODOO_VERSIONS.map((v) => `"${v}"`).join(', ');
const unionError = (message: string) => (issue: {code?: string}) => (issue.code === 'invalid_union' ? message : undefined);

// ---------------------------------------------------------------- odoo
const odooVersion = z
  .union([z.enum(ODOO_VERSIONS), z.enum(['16', '17', '18']), z.literal([16, 17, 18])], {
    error: unionError(`expected one of ${VERSIONS_TEXT}`),
  })
  .transform((value) => String(value).replace(/^(\d+)$/, '$1.0') as OdooVersion);

const moduleName = matching(/^[A-Za-z0-9_]+$/, 'an Odoo module name (letters, digits and _)');
const moduleList = z.array(moduleName).min(1, {error: 'expected at least one module'});

const pathAddon = strict({path: text('a folder path').describe('folder with addons (relative to the config file)')});
const gitAddon = strict({
  git: text('a git URL').describe('git repository URL'),
  commit: matching(/^[0-9a-fA-F]{40}$/, 'a full 40-character commit sha')
    .transform((sha) => sha.toLowerCase())
    .describe('pinned commit (full 40-character sha)'),
  subdir: matching(/^(?!\/)(?!(?:.*\/)?\.\.(?:\/|$)).+$/, 'a relative folder inside the repository')
    .optional()
    .describe('folder inside the repository that holds the addons'),
});
const addon = z.union([pathAddon, gitAddon], {
  error: (issue) =>
    issue.code === 'invalid_union' && (typeof issue.input !== 'object' || issue.input === null || Array.isArray(issue.input))
      ? 'expected {path: FOLDER} or {git: URL, commit: SHA}'
      : undefined,
});

export const odooSection = strict({
  version: odooVersion.prefault('17.0').describe(`Odoo series: ${VERSIONS_TEXT} (17 or 17.0 are accepted too)`),
  bin: text('a path').optional().describe('local provider: odoo-bin or any executable taking Odoo server flags (relative to the config file)'),
  image: text('a container image').optional().describe('container providers: Odoo image (default odoo:<version>)'),
  addons: z.array(addon).default([]).describe('addon sources: {path: FOLDER} or {git: URL, commit: SHA, subdir?: FOLDER}'),
  modules: moduleList.default(['base']).describe('modules installed in fresh databases'),
})
  .transform((odoo) => ({...odoo, image: odoo.image ?? `odoo:${odoo.version}`}))
  .prefault({})
  .describe('the Odoo server');

// ---------------------------------------------------------------- provider
export const providerSection = strict({
  name: z.enum(PROVIDER_NAMES).default('local').describe('where environments run: local, docker-local, ssh-host or k8s'),
  local: strict({}).default({}).describe('settings of the local provider (none yet)'),
  docker: strict({
    network: z.enum(['host', 'bridge']).default('bridge').describe('Docker network mode for Odoo containers'),
    socketPath: text('a path').optional().describe('Docker daemon socket (default: the Docker default)'),
  })
    .prefault({})
    .describe('settings of the docker-local provider'),
  ssh: strict({
    host: text('a host name').describe('host to connect to'),
    user: text('a user name').optional().describe('remote user (default: ssh default)'),
    port: wholeNumber(1, 65535).default(22).describe('SSH port'),
    identityFile: text('a path').optional().describe('private key file (relative to the config file; ~ is left to ssh)'),
    passphrase: secret('passphrase of the private key').optional(),
  })
    .optional()
    .describe('settings of the ssh-host provider'),
  k8s: strict({
    context: text('a kubeconfig context name').optional().describe('kubeconfig context (default: current context)'),
    namespace: matching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a Kubernetes namespace (lowercase letters, digits and -)')
      .default('odoo-sh-next')
      .describe('namespace for the project'),
  })
    .prefault({})
    .describe('settings of the k8s provider'),
})
  .superRefine((provider, ctx) => {
    if (provider.name === 'ssh-host' && provider.ssh === undefined) {
      ctx.addIssue({code: 'custom', path: ['ssh'], message: 'required when provider.name is ssh-host (at least {host: HOST})'});
    }
  })
  .prefault({})
  .describe('the provider that runs environments; only the block of the selected provider is used');

// ---------------------------------------------------------------- postgres, router
export const postgresSection = strict({
  binDir: text('a folder path').optional().describe('local provider: folder with initdb and pg_ctl (relative to the config file)'),
  image: text('a container image').default('postgres:16').describe('container providers: PostgreSQL image'),
  version: text('a PostgreSQL version').optional().describe('PostgreSQL major version to require'),
})
  .prefault({})
  .describe('the PostgreSQL server of the environments');

export const routerSection = strict({
  domain: text('a domain name').default('localhost').describe('environments are served at <env>.<domain>'),
  image: text('a container image').default('caddy:2').describe('container providers: router image'),
})
  .prefault({})
  .describe('the HTTP router in front of the environments');

// ---------------------------------------------------------------- build
const pipIndexUrl = z.string({error: 'expected an http(s) URL'}).superRefine((url, ctx) => {
  const problem = pipIndexUrlProblem(url);
  if (problem === undefined) return;
  // A URL with credentials is not echoed (the message does not start with "expected", so no "found ...").
  ctx.addIssue(problem.startsWith('carries credentials')
    ? {code: 'custom', message: `a package index URL that ${problem}; serve the index to the build without credentials (e.g. a mirror on 127.0.0.1)`}
    : {code: 'custom', message: `expected an http(s) URL of a package index (this one ${problem})`});
});
const pipTrustedHost = z.string({error: 'expected a host name or host:port'}).superRefine((host, ctx) => {
  if (pipTrustedHostProblem(host) !== undefined) ctx.addIssue({code: 'custom', message: 'expected a host name or host:port'});
});

export const buildSection = strict({
  pip: strict({
    indexUrl: pipIndexUrl.optional().describe('package index replacing PyPI (pip --index-url), e.g. https://pypi.example.com/simple; no user:password@ (kept in the image history)'),
    extraIndexUrls: z.array(pipIndexUrl).default([]).describe('more package indexes (pip --extra-index-url), in order; no credentials'),
    trustedHosts: z.array(pipTrustedHost).default([]).describe('hosts (host or host:port) pip may use over plain HTTP or without a valid certificate (pip --trusted-host)'),
  })
    .prefault({})
    .describe('where the image build installs the addons\' Python requirements from (default PyPI); part of the cache key of that layer'),
})
  .prefault({})
  .describe('the image build (buildpack) of container providers');

// ---------------------------------------------------------------- state
const POSTGRES_URL_RE = /^postgres(?:ql)?:\/\/./;
const stateUrl = z.union([z.string().describe('postgres:// URL without a password'), secret('PostgreSQL URL holding a password')]).superRefine((value, ctx) => {
  const raw = value instanceof Secret ? value.reveal() : value;
  if (!POSTGRES_URL_RE.test(raw) || !URL.canParse(raw)) {
    const from = value instanceof Secret ? ` (the value from ${value.source})` : '';
    ctx.addIssue({code: 'custom', message: `expected a postgres:// or postgresql:// URL${from}`});
  }
});

export const stateSection = strict({
  url: stateUrl
    .optional()
    .describe('PostgreSQL 13+ URL of the ops state store (default: the project Postgres); a password must come from ${VAR} or {fromFile}'),
  eventRetention: duration().prefault('30d').describe('how long events are kept'),
  logRetention: duration()
    .refine((d) => d.ms >= 3_600_000, {error: 'expected at least 1h: run logs outlive their runs\' events'})
    .prefault('180d')
    .describe('how long run logs kept as artifacts (build logs) are kept; at least 1h'),
  runMaxAttempts: wholeNumber(1, 100).default(5).describe('attempts per run step before it fails'),
  leaseSeconds: wholeNumber(5, 3600).default(60).describe('lease length of a worker on a run'),
})
  .prefault({})
  .describe('the ops state store');

// ---------------------------------------------------------------- branches
const glob = text('a glob pattern').superRefine((pattern, ctx) => {
  try {
    picomatch.makeRe(pattern, {strictBrackets: true});
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    ctx.addIssue({code: 'custom', message: `expected a glob pattern (picomatch syntax), found ${JSON.stringify(pattern)}: ${reason}`});
  }
});

const branchRule = strict({
  pattern: glob.describe('branch name glob (picomatch syntax), e.g. main, release/*, feature/**'),
  type: z.enum(ENVIRONMENT_TYPES).describe('environment type: production, staging, preview or dev'),
  ttl: duration().optional().describe('preview/dev only: delete the environment after this long without a push'),
  data: z.enum(DATA_SOURCES).optional().describe('fresh database or a masked clone of production (not for production)'),
  demo: z.boolean().optional().describe('load demo data in fresh databases (default: true for preview/dev)'),
  modules: moduleList.optional().describe('modules to install (default: odoo.modules)'),
})
  .superRefine((rule, ctx) => {
    if (rule.ttl !== undefined && (rule.type === 'production' || rule.type === 'staging')) {
      ctx.addIssue({code: 'custom', path: ['ttl'], message: `ttl is only allowed for preview and dev branches, not ${rule.type}`});
    }
    if (rule.data !== undefined && rule.type === 'production') {
      ctx.addIssue({code: 'custom', path: ['data'], message: 'production branches must not set data (production is never cloned or reset)'});
    }
  })
  .transform((rule) => ({
    ...rule,
    data: rule.data ?? (rule.type === 'staging' ? 'clone-production' : 'fresh'),
    demo: rule.demo ?? (rule.type === 'preview' || rule.type === 'dev'),
  }));

export const DEFAULT_BRANCHES = [
  {pattern: 'main', type: 'production'},
  {pattern: 'release/*', type: 'staging', data: 'clone-production'},
  {pattern: 'feature/*', type: 'preview', ttl: '72h'},
  {pattern: '**', type: 'dev'},
] as const satisfies readonly z.input<typeof branchRule>[];

export const branchesSection = z
  .array(branchRule)
  .superRefine((rules, ctx) => {
    const seen = new Map<string, number>();
    for (const [index, rule] of rules.entries()) {
      const first = seen.get(rule.pattern);
      if (first === undefined) seen.set(rule.pattern, index);
      else ctx.addIssue({code: 'custom', path: [index, 'pattern'], message: `duplicate pattern "${rule.pattern}" (already used by branches[${first}])`});
    }
  })
  .prefault(DEFAULT_BRANCHES.map((rule) => ({...rule})))
  .describe('branch rules, first match wins: which branches get which environment type');

// ---------------------------------------------------------------- backups
const filesystemStorage = strict({
  type: z.literal('filesystem').default('filesystem').describe('keep backups in a local folder'),
  path: text('a folder path').default('.odoo-sh-next/backups').describe('backup folder (relative to the config file)'),
});
const s3Storage = strict({
  type: z.literal('s3').describe('keep backups in an S3-compatible bucket'),
  bucket: text('a bucket name').describe('bucket name'),
  prefix: z.string().default('').describe('key prefix inside the bucket'),
  region: text('a region').default('us-east-1').describe('bucket region'),
  endpoint: z.url({protocol: /^https?$/, error: 'expected an http(s) URL'}).optional().describe('endpoint of an S3-compatible service'),
  forcePathStyle: z.boolean().default(false).describe('use path-style URLs (MinIO and most S3-compatible services)'),
  accessKeyId: secret('access key id (default: the AWS credential chain)').optional(),
  secretAccessKey: secret('secret access key').optional(),
  sessionToken: secret('session token').optional(),
}).superRefine((s3, ctx) => {
  if ((s3.accessKeyId === undefined) !== (s3.secretAccessKey === undefined)) {
    const missing = s3.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey';
    ctx.addIssue({code: 'custom', path: [missing], message: 'accessKeyId and secretAccessKey must be given together'});
  }
});
const storage = z
  .discriminatedUnion('type', [filesystemStorage, s3Storage], {
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined;
      const input = issue.input as {type?: unknown} | undefined;
      const found = input && typeof input === 'object' ? JSON.stringify(input.type) : 'nothing';
      return `expected type "filesystem" or "s3", found ${found}`;
    },
  })
  .prefault({})
  .describe('where backups are stored (type: filesystem or s3)');

const cronSchedule = z.string({error: 'expected a 5-field cron expression'}).superRefine((expression, ctx) => {
  // A date that never comes (31 February) never comes in any time zone: checking in UTC is enough.
  const problem = scheduleError(expression);
  if (problem !== undefined) {
    ctx.addIssue({code: 'custom', message: `expected a 5-field cron expression, found ${JSON.stringify(expression)} (${problem})`});
  }
});
const envScheduleKey = matching(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, 'an environment name (lowercase letters, digits and inner -)');

export const backupsSection = strict({
  schedule: cronSchedule
    .default('0 3 * * *')
    .describe('cron schedule of automatic production backups (5 fields, in backups.timeZone); shorthand for schedules.production'),
  schedules: z
    .record(envScheduleKey, z.union([cronSchedule, z.literal(false)], {error: 'expected a 5-field cron expression or false'}))
    .optional()
    .describe('cron schedule of automatic backups per environment name, e.g. {production: "0 3 * * *", staging: "0 4 * * 0"}; false turns one off (default: production on backups.schedule)'),
  timeZone: z
    .string({error: 'expected an IANA time zone name'})
    .superRefine((zone, ctx) => {
      const problem = timeZoneError(zone);
      if (problem !== undefined) ctx.addIssue({code: 'custom', message: problem});
    })
    .default('UTC')
    .describe('IANA time zone of backup schedules and of the days, weeks and months of retention, e.g. Europe/Brussels'),
  retention: strict({
    daily: wholeNumber(0).default(7).describe('daily backups kept: the newest of each of the last N days that have backups'),
    weekly: wholeNumber(0).default(4).describe('weekly backups kept: the newest of each of N ISO weeks before the oldest daily'),
    monthly: wholeNumber(0).default(3).describe('monthly backups kept: the newest of each of N months before the oldest weekly'),
  })
    .prefault({})
    .describe('how many automatic backups are kept (tiers do not overlap: 7/4/3 keeps 14 backups over about three months)'),
  manual: strict({
    keep: wholeNumber(0).default(5).describe('newest manual backups kept per environment'),
    maxAge: duration().prefault('30d').describe('manual backups older than this are pruned'),
  })
    .prefault({})
    .describe('retention of manual backups (apart from the automatic tiers)'),
  manualPerDay: wholeNumber(0).default(5).describe('manual backups allowed per environment per day'),
  cloneFromBackupMaxAge: duration()
    .optional()
    .describe('staging clones load the newest complete backup of production when it is younger than this (e.g. 6h) instead of copying live production; unset: always a live copy'),
  storage,
})
  .transform(({schedules, ...backups}) => ({
    ...backups,
    /** The effective schedules: production on `schedule` unless `schedules` says otherwise; disabled ones dropped. */
    schedules: Object.fromEntries(
      Object.entries<string | false>({production: backups.schedule, ...schedules}).filter((entry): entry is [string, string] => entry[1] !== false),
    ),
  }))
  .prefault({})
  .describe('backups of production (and of other environments on demand)');

// ---------------------------------------------------------------- upgrade advisor
export const upgradeSection = strict({
  openupgrade: text('a folder path').optional().describe(
    'OpenUpgrade scripts folder passed to the target Odoo as --upgrade-path by `upgrade preview` (relative to the config file; ' +
    'on container providers an absolute path inside the target image)'),
})
  .prefault({})
  .describe('the upgrade advisor (`upgrade preview`)');

// ---------------------------------------------------------------- masking, policies
export const maskingSection = strict({
  rules: text('a path').optional().describe('masking rules file applied to production clones (relative to the config file)'),
})
  .prefault({})
  .describe('data masking of production clones');

const policyRules = z.array(text('a non-empty rule')).default([]);
export const policiesSection = strict({
  production: policyRules.describe('rules for actions on production, e.g. "approvals >= 1 from role admin"'),
  staging: policyRules.describe('rules for actions on staging'),
  preview: policyRules.describe('rules for actions on previews'),
  dev: policyRules.describe('rules for actions on dev environments'),
})
  .prefault({})
  .describe('policy rules per environment type, e.g. "backup younger than 24h"');
