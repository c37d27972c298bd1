import {join} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {loadConfig} from '../../../src/core/config/load-config.js';
import {ConfigError} from '../../../src/core/errors.js';
import {rejection, tempProject, type TempProject} from './temp-project.js';

const FILE = 'odoo-sh-next.config.yaml';
let project: TempProject | undefined;
afterEach(async () => {
  await project?.cleanup();
  project = undefined;
});

async function load(yaml: string, env: Record<string, string> = {}) {
  project = await tempProject({[FILE]: yaml});
  return loadConfig({cwd: project.dir, env});
}

async function loadError(yaml: string, env: Record<string, string> = {}) {
  const error = await rejection(() => load(yaml, env));
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('loadConfig: a good config', () => {
  it('applies every default', async () => {
    const config = await load('project: my-shop\n');
    const dir = project!.dir;
    expect(config.project).toBe('my-shop');
    expect(config.configFile).toBe(join(dir, FILE));
    expect(config.projectRoot).toBe(dir);
    expect(config.odoo).toEqual({version: '17.0', image: 'odoo:17.0', addons: [], modules: ['base']});
    expect(config.provider).toEqual({name: 'local', local: {}, docker: {network: 'bridge'}, k8s: {namespace: 'odoo-sh-next'}});
    expect(config.postgres).toEqual({image: 'postgres:16'});
    expect(config.router).toEqual({domain: 'localhost', image: 'caddy:2'});
    expect(config.state).toEqual({eventRetention: {text: '30d', ms: 30 * 86_400_000}, logRetention: {text: '180d', ms: 180 * 86_400_000}, runMaxAttempts: 5, leaseSeconds: 60});
    expect(config.branches).toEqual([
      {pattern: 'main', type: 'production', data: 'fresh', demo: false, modules: ['base']},
      {pattern: 'release/*', type: 'staging', data: 'clone-production', demo: false, modules: ['base']},
      {pattern: 'feature/*', type: 'preview', ttl: {text: '72h', ms: 72 * 3_600_000}, data: 'fresh', demo: true, modules: ['base']},
      {pattern: '**', type: 'dev', data: 'fresh', demo: true, modules: ['base']},
    ]);
    expect(config.backups).toEqual({
      schedule: '0 3 * * *',
      schedules: {production: '0 3 * * *'},
      timeZone: 'UTC',
      retention: {daily: 7, weekly: 4, monthly: 3},
      manual: {keep: 5, maxAge: {text: '30d', ms: 30 * 86_400_000}},
      manualPerDay: 5,
      storage: {type: 'filesystem', path: join(dir, '.odoo-sh-next/backups')},
    });
    expect(config.masking).toEqual({});
    expect(config.policies).toEqual({production: [], staging: [], preview: [], dev: []});
  });

  it('resolves upgrade.openupgrade against the config folder on the local provider only (inside the image on containers)', async () => {
    const local = await load('project: shop\nupgrade: {openupgrade: ./openupgrade/scripts}\n');
    expect(local.upgrade.openupgrade).toBe(join(project!.dir, 'openupgrade/scripts'));
    const docker = await load('project: shop\nprovider: {name: docker-local}\nupgrade: {openupgrade: /opt/openupgrade/scripts}\n');
    expect(docker.upgrade.openupgrade).toBe('/opt/openupgrade/scripts');
    expect((await load('project: shop\n')).upgrade).toEqual({});
  });

  it('resolves paths, normalises versions and fills branch defaults', async () => {
    const config = await load(`
project: shop-2
odoo:
  version: 16
  bin: ./odoo/odoo-bin
  addons:
    - path: ./addons
    - git: https://github.com/OCA/web.git
      commit: ABCDEF0123456789ABCDEF0123456789ABCDEF01
      subdir: web
  modules: [base, sale]
postgres: {binDir: pg/bin}
provider:
  name: ssh-host
  ssh: {host: h.example.com, identityFile: keys/id, port: 2222}
masking: {rules: ./masking.yaml}
branches:
  - {pattern: main, type: production}
  - {pattern: 'fix/**', type: dev, ttl: 2w, demo: false, modules: [base]}
policies:
  production: ["approvals >= 1 from role admin", "backup younger than 24h"]
backups:
  storage: {type: s3, bucket: backups, forcePathStyle: true, endpoint: 'http://minio:9000'}
`);
    const dir = project!.dir;
    expect(config.odoo.version).toBe('16.0');
    expect(config.odoo.image).toBe('odoo:16.0');
    expect(config.odoo.bin).toBe(join(dir, 'odoo/odoo-bin'));
    expect(config.odoo.addons).toEqual([
      {path: join(dir, 'addons')},
      {git: 'https://github.com/OCA/web.git', commit: 'abcdef0123456789abcdef0123456789abcdef01', subdir: 'web'},
    ]);
    expect(config.postgres.binDir).toBe(join(dir, 'pg/bin'));
    expect(config.provider.ssh).toEqual({host: 'h.example.com', identityFile: join(dir, 'keys/id'), port: 2222});
    expect(config.masking.rules).toBe(join(dir, 'masking.yaml'));
    expect(config.branches).toEqual([
      {pattern: 'main', type: 'production', data: 'fresh', demo: false, modules: ['base', 'sale']},
      {pattern: 'fix/**', type: 'dev', ttl: {text: '2w', ms: 14 * 86_400_000}, data: 'fresh', demo: false, modules: ['base']},
    ]);
    expect(config.policies.production).toHaveLength(2);
    expect(config.backups.storage).toEqual({
      type: 's3',
      bucket: 'backups',
      prefix: '',
      region: 'us-east-1',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
    });
  });

  it.each([
    ['17.0', '17.0'],
    ['"18.0"', '18.0'],
    ['17', '17.0'],
    ['"16"', '16.0'],
  ])('accepts odoo.version %s', async (written, expected) => {
    const config = await load(`project: p\nodoo: {version: ${written}}\n`);
    expect(config.odoo.version).toBe(expected);
  });
});

describe('loadConfig: bad configs name the file, the key path, what was expected and found', () => {
  it.each([
    ['YAML syntax error (line:column)', 'project: p\nodoo:\n  version: [17\n  bin: x: y\n', /^odoo-sh-next\.config\.yaml:\d+:\d+: /],
    ['YAML duplicate key', 'project: p\nproject: q\n', /^odoo-sh-next\.config\.yaml:2:1: Map keys must be unique/],
    [
      'unknown key with did-you-mean',
      'project: p\nbackups:\n  retension: {daily: 1}\n',
      'odoo-sh-next.config.yaml: backups.retension: unknown key "retension" at backups; did you mean "retention"?',
    ],
    ['unknown top-level key', 'project: p\nodo: {}\n', 'odoo-sh-next.config.yaml: odo: unknown key "odo" at the top level; did you mean "odoo"?'],
    ['wrong type', 'project: p\nbackups: {manualPerDay: five}\n', 'odoo-sh-next.config.yaml: backups.manualPerDay: expected a whole number >= 0, found "five"'],
    ['wrong type (mapping)', 'project: p\nodoo: 17\n', 'odoo-sh-next.config.yaml: odoo: expected a mapping (key: value), found 17'],
    [
      'negative retention',
      'project: p\nbackups: {retention: {daily: -1}}\n',
      'odoo-sh-next.config.yaml: backups.retention.daily: expected a whole number >= 0, found -1',
    ],
    ['missing project', 'odoo: {}\n', 'odoo-sh-next.config.yaml: project: required key is missing'],
    ['bad project slug', 'project: My Shop\n', 'odoo-sh-next.config.yaml: project: expected a project slug'],
    ['bad odoo version', 'project: p\nodoo: {version: "15.0"}\n', 'odoo.version: expected one of "16.0", "17.0", "18.0", found "15.0"'],
    [
      'invalid branch glob',
      'project: p\nbranches:\n  - {pattern: main, type: production}\n  - {pattern: "feature/[", type: preview}\n',
      'odoo-sh-next.config.yaml: branches[1].pattern: expected a glob pattern (picomatch syntax), found "feature/["',
    ],
    [
      'ttl on production',
      'project: p\nbranches:\n  - {pattern: main, type: production, ttl: 72h}\n',
      'odoo-sh-next.config.yaml: branches[0].ttl: ttl is only allowed for preview and dev branches, not production',
    ],
    ['ttl on staging', 'project: p\nbranches:\n  - {pattern: r, type: staging, ttl: 1d}\n', 'branches[0].ttl: ttl is only allowed for preview and dev branches, not staging'],
    ['data on production', 'project: p\nbranches:\n  - {pattern: main, type: production, data: fresh}\n', 'branches[0].data: production branches must not set data'],
    [
      'duplicate branch pattern',
      'project: p\nbranches:\n  - {pattern: main, type: production}\n  - {pattern: x, type: dev}\n  - {pattern: main, type: dev}\n',
      'branches[2].pattern: duplicate pattern "main" (already used by branches[0])',
    ],
    [
      'bad cron',
      'project: p\nbackups: {schedule: "0 25 * * *"}\n',
      'odoo-sh-next.config.yaml: backups.schedule: expected a 5-field cron expression, found "0 25 * * *" (hour field "25": 25 is outside 0-23)',
    ],
    [
      'bad duration',
      'project: p\nstate: {eventRetention: 30 days}\n',
      'odoo-sh-next.config.yaml: state.eventRetention: expected a duration like 30s, 15m, 72h, 7d or 2w, found "30 days"',
    ],
    ['log retention under an hour', 'project: p\nstate: {logRetention: 30m}\n', "state.logRetention: expected at least 1h: run logs outlive their runs' events"],
    ['bad ttl duration', 'project: p\nbranches:\n  - {pattern: x, type: dev, ttl: 0h}\n', 'branches[0].ttl: expected a duration like 30s, 15m, 72h, 7d or 2w, found "0h"'],
    ['port out of range', 'project: p\nprovider: {ssh: {host: h, port: 70000}}\n', 'provider.ssh.port: expected a whole number from 1 to 65535, found 70000'],
    ['ssh block required', 'project: p\nprovider: {name: ssh-host}\n', 'provider.ssh: required when provider.name is ssh-host'],
    ['unknown storage type', 'project: p\nbackups: {storage: {type: gcs}}\n', 'backups.storage.type: expected type "filesystem" or "s3", found "gcs"'],
    ['s3 without bucket', 'project: p\nbackups: {storage: {type: s3}}\n', 'backups.storage.bucket: required key is missing'],
    ['addon as a bare string', 'project: p\nodoo: {addons: [./addons]}\n', 'odoo.addons[0]: expected {path: FOLDER} or {git: URL, commit: SHA}, found "./addons"'],
    [
      'git addon without commit',
      'project: p\nodoo: {addons: [{git: "https://x/y.git"}]}\n',
      'odoo.addons[0].commit: required key is missing (expected a full 40-character commit sha)',
    ],
    ['short commit sha', 'project: p\nodoo: {addons: [{git: x, commit: abc123}]}\n', 'odoo.addons[0].commit: expected a full 40-character commit sha, found "abc123"'],
    ['unknown policy type', 'project: p\npolicies: {prod: [x]}\n', 'policies.prod: unknown key "prod" at policies; did you mean "production"?'],
    ['empty policy rule', 'project: p\npolicies: {production: [""]}\n', 'policies.production[0]: expected a non-empty rule, found ""'],
    ['empty file', '# nothing yet\n', 'odoo-sh-next.config.yaml: the file is empty'],
    ['not a mapping', '- a\n- b\n', 'odoo-sh-next.config.yaml: expected a mapping (key: value), found a list'],
    ['$import is refused', 'project: p\n$import: ./other.yaml\n', 'odoo-sh-next.config.yaml: $import: unknown key "$import"'],
  ])('%s', async (_name, yaml, expected) => {
    const error = await loadError(yaml);
    if (typeof expected === 'string') expect(error.message).toContain(expected);
    else expect(error.message).toMatch(expected);
    expect(error.data?.file).toBe(join(project!.dir, FILE));
  });

  it('reports a YAML syntax error with its line and column', async () => {
    const error = await loadError('project: p\nodoo:\n  version: "17.0\n');
    expect(error.message).toMatch(/^odoo-sh-next\.config\.yaml:\d+:\d+: Missing closing "quote/);
    const bad = await loadError('project: p\nodoo:\n    version: 17\n  bin: x\n');
    expect(bad.message).toMatch(/^odoo-sh-next\.config\.yaml:4:\d+: /);
  });

  it('reports every issue, each on its own line, and lists them in data.issues', async () => {
    const error = await loadError('project: BAD\nbackups:\n  retension: 1\n  retention: {daily: -1}\n  schedule: nope\n');
    const lines = error.message.split('\n');
    expect(lines).toEqual([
      expect.stringContaining('odoo-sh-next.config.yaml: project: expected a project slug'),
      'odoo-sh-next.config.yaml: backups.retension: unknown key "retension" at backups; did you mean "retention"?',
      'odoo-sh-next.config.yaml: backups.retention.daily: expected a whole number >= 0, found -1',
      expect.stringContaining('odoo-sh-next.config.yaml: backups.schedule: expected a 5-field cron expression, found "nope"'),
    ]);
    expect(error.data?.issues).toEqual([
      {path: 'project', message: expect.any(String)},
      {path: 'backups.retension', message: 'unknown key "retension" at backups; did you mean "retention"?'},
      {path: 'backups.retention.daily', message: 'expected a whole number >= 0, found -1'},
      {path: 'backups.schedule', message: expect.any(String)},
    ]);
  });
});
