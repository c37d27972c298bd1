import {inspect} from 'node:util';
import {join} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {loadConfig} from '../../../src/core/config/load-config.js';
import {interpolate, urlHasPassword} from '../../../src/core/config/resolve-values.js';
import {ConfigError} from '../../../src/core/errors.js';
import {Secret} from '../../../src/core/secret.js';
import {rejection, tempProject, type TempProject} from './temp-project.js';

const FILE = 'odoo-sh-next.config.yaml';
let project: TempProject | undefined;
afterEach(async () => {
  await project?.cleanup();
  project = undefined;
});

async function load(yaml: string, env: Record<string, string | undefined> = {}, files: Record<string, string> = {}) {
  project = await tempProject({[FILE]: yaml, ...files});
  return loadConfig({cwd: project.dir, env});
}

async function loadError(yaml: string, env: Record<string, string | undefined> = {}, files: Record<string, string> = {}) {
  const error = await rejection(() => load(yaml, env, files));
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('interpolate', () => {
  const env = {HOST: 'db.internal', EMPTY: '', PORT: '5433'};
  it.each([
    ['plain', 'plain'],
    ['${HOST}', 'db.internal'],
    ['pg://${HOST}:${PORT}/x', 'pg://db.internal:5433/x'],
    ['${NOPE:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${HOST:-fallback}', 'db.internal'],
    ['${NOPE:-}', ''],
    ['$${HOST}', '${HOST}'],
    ['cost: $5 and $$', 'cost: $5 and $$'],
    ['$$${HOST}', '$${HOST}'], // scanned left to right: a plain $, then the escape
    ['${EMPTY}', ''],
  ])('%j -> %j', (template, expected) => {
    const result = interpolate(template, env);
    expect(result.error).toBeUndefined();
    expect(result.missing).toEqual([]);
    expect(result.value).toBe(expected);
  });

  it('reports missing variables and syntax errors', () => {
    expect(interpolate('${A}-${B:-b}-${C}', {}).missing).toEqual(['A', 'C']);
    expect(interpolate('${A', {}).error).toMatch(/unterminated/);
    expect(interpolate('${1A}', {}).error).toMatch(/invalid reference/);
    expect(interpolate('${}', {}).error).toMatch(/invalid reference/);
  });

  it('detects passwords in URLs', () => {
    expect(urlHasPassword('postgres://u:pw@h/db')).toBe(true);
    expect(urlHasPassword('postgresql://h/db?password=x')).toBe(true);
    expect(urlHasPassword('postgres://u@h/db')).toBe(false);
    expect(urlHasPassword('postgres://h:5432/db')).toBe(false);
  });
});

describe('loadConfig: ${VAR} interpolation', () => {
  it('interpolates every string value, with defaults and escapes', async () => {
    const config = await load(
      'project: ${PROJECT}\nrouter: {domain: "${DOMAIN:-localhost}", image: "$${NOT_A_VAR}"}\nodoo: {modules: [base, "${EXTRA}"]}\n',
      {PROJECT: 'from-env', EXTRA: 'sale'},
    );
    expect(config.project).toBe('from-env');
    expect(config.router).toEqual({domain: 'localhost', image: '${NOT_A_VAR}'});
    expect(config.odoo.modules).toEqual(['base', 'sale']);
  });

  it('a missing variable names the variable and the key path', async () => {
    const error = await loadError('project: p\nrouter: {domain: "${ROUTER_DOMAIN}"}\n');
    expect(error.message).toBe(
      'odoo-sh-next.config.yaml: router.domain: environment variable ROUTER_DOMAIN is not set (set it, or give a default: ${ROUTER_DOMAIN:-value})',
    );
    expect(error.actions.join('\n')).toContain('ROUTER_DOMAIN');
  });

  it('a missing variable does not also produce schema errors for the same key', async () => {
    const error = await loadError('project: ${P}\n');
    expect(error.data?.issues).toEqual([{path: 'project', message: expect.stringContaining('environment variable P is not set')}]);
  });

  it('reports a malformed reference', async () => {
    const error = await loadError('project: p\nrouter: {domain: "${oops"}\n');
    expect(error.message).toContain('router.domain: unterminated "${"');
  });
});

describe('loadConfig: secrets', () => {
  const s3 = (keys: string) => `project: p\nbackups:\n  storage:\n    type: s3\n    bucket: b\n${keys}`;

  it('takes ${VAR}, {fromEnv} and {fromFile} secrets and never prints them', async () => {
    const config = await load(
      s3('    accessKeyId: ${AWS_KEY}\n    secretAccessKey: {fromFile: secrets/aws}\n    sessionToken: {fromEnv: AWS_TOKEN}\n') +
        'provider: {ssh: {host: h, passphrase: {fromEnv: SSH_PASS}}}\n',
      {AWS_KEY: 'AKIA123', AWS_TOKEN: 'tok', SSH_PASS: 'pp'},
      {'secrets/aws': 'very-secret\n'},
    );
    const storage = config.backups.storage;
    if (storage.type !== 's3') throw new Error('expected s3');
    expect(storage.accessKeyId).toBeInstanceOf(Secret);
    expect(storage.accessKeyId?.reveal()).toBe('AKIA123');
    expect(storage.accessKeyId?.source).toBe('env:AWS_KEY');
    expect(storage.secretAccessKey?.reveal()).toBe('very-secret');
    expect(storage.secretAccessKey?.source).toBe(`file:${join(project!.dir, 'secrets/aws')}`);
    expect(storage.sessionToken?.source).toBe('env:AWS_TOKEN');
    expect(config.provider.ssh?.passphrase?.reveal()).toBe('pp');

    const printed = [JSON.stringify(config), inspect(config, {depth: 20}), String(storage.accessKeyId)].join('\n');
    for (const secret of ['AKIA123', 'very-secret', 'tok', 'pp\'']) expect(printed).not.toContain(secret);
    expect(JSON.stringify(config)).toContain('"accessKeyId":"[REDACTED]"');
    expect(inspect(config, {depth: 20})).toContain('[REDACTED]');
  });

  it.each([
    ['a literal secret', s3('    accessKeyId: AKIA123\n    secretAccessKey: ${K}\n'), 'backups.storage.accessKeyId: secrets must come from the environment or a file: use ${VAR} or {fromFile: ...}'],
    ['a literal passphrase', 'project: p\nprovider: {ssh: {host: h, passphrase: hunter2}}\n', 'provider.ssh.passphrase: secrets must come from the environment or a file'],
    ['a default standing in for the secret', s3('    accessKeyId: ${NOPE:-AKIA123}\n    secretAccessKey: ${K}\n'), 'backups.storage.accessKeyId: secrets must come from the environment or a file'],
    ['an escaped reference', s3('    accessKeyId: $${K}\n    secretAccessKey: ${K}\n'), 'backups.storage.accessKeyId: secrets must come from the environment or a file'],
    ['a missing variable', s3('    accessKeyId: ${NOPE}\n    secretAccessKey: ${K}\n'), 'backups.storage.accessKeyId: environment variable NOPE is not set'],
    ['a missing fromEnv variable', s3('    accessKeyId: {fromEnv: NOPE}\n    secretAccessKey: ${K}\n'), 'backups.storage.accessKeyId: environment variable NOPE is not set'],
    ['a missing file', s3('    accessKeyId: {fromFile: nope.txt}\n    secretAccessKey: ${K}\n'), 'backups.storage.accessKeyId: cannot read secret file'],
    ['a misspelt reference', s3('    accessKeyId: {fromFiles: x}\n    secretAccessKey: ${K}\n'), 'did you mean "fromFile"?'],
    ['a number', s3('    accessKeyId: 12345\n    secretAccessKey: ${K}\n'), 'backups.storage.accessKeyId: expected a secret: ${VAR}, {fromEnv: NAME} or {fromFile: PATH}, found a number'],
    ['only one of the key pair', s3('    accessKeyId: ${K}\n'), 'backups.storage.secretAccessKey: accessKeyId and secretAccessKey must be given together'],
    ['a state URL with a literal password', 'project: p\nstate: {url: "postgres://ops:hunter2@db/ops"}\n', 'state.url: the URL contains a password; secrets must come from the environment or a file'],
    ['a state URL that is not PostgreSQL', 'project: p\nstate: {url: "mysql://db/ops"}\n', 'state.url: expected a postgres:// or postgresql:// URL'],
  ])('refuses %s', async (_name, yaml, expected) => {
    const error = await loadError(yaml, {K: 'k'});
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('AKIA123');
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('state.url: a URL without a password stays a string; with one it becomes a Secret', async () => {
    const plain = await load('project: p\nstate: {url: "postgres://ops@db:5432/ops"}\n');
    expect(plain.state.url).toBe('postgres://ops@db:5432/ops');
    await project!.cleanup();

    const fromEnv = await load('project: p\nstate: {url: "postgres://ops:${PGPASS}@db/ops"}\n', {PGPASS: 's3cr3t'});
    expect(fromEnv.state.url).toBeInstanceOf(Secret);
    const url = fromEnv.state.url as Secret;
    expect(url.reveal()).toBe('postgres://ops:s3cr3t@db/ops');
    expect(url.source).toBe('env:PGPASS');
    expect(JSON.stringify(fromEnv)).not.toContain('s3cr3t');
    await project!.cleanup();

    const fromFile = await load('project: p\nstate: {url: {fromFile: ./state-url}}\n', {}, {'state-url': 'postgresql://u:x@h/db\r\n'});
    expect((fromFile.state.url as Secret).reveal()).toBe('postgresql://u:x@h/db');
  });
});
