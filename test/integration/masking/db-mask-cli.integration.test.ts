/** `db mask` through the built CLI: the dry-run plan, the db-mask run, and the refusals with their exit codes. */
import {execa} from 'execa';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {DbMaskResult} from '../../../src/commands/db/mask.js';
import type {PreviewUpResult} from '../../../src/commands/preview/up.js';
import {assertContract, runCli, STANDIN, tempProject} from '../../helpers/cli.js';

let project: {dir: string; remove(): Promise<void>};
const SALT = {MASKING_SALT: 'cli-test-salt-0123456789abcdef'};
const cli = <R>(...args: string[]) => runCli<R>([...args, '--json'], {cwd: project.dir, env: SALT});
let env: string;

const RULES = `salt: \${MASKING_SALT}
rules:
  - table: res_partner
    columns: {name: fake-name, complete_name: fake-name, email: fake-email, phone: fake-phone, mobile: fake-phone, street: fake-street,
              street2: null, vat: fake-vat, website: keep, zip: keep, city: keep, lang: keep, tz: keep, type: keep}
`;

beforeAll(async () => {
  project = await tempProject('odoo-sh-next-mask-');
  const git = (...args: string[]) => execa('git', args, {cwd: project.dir, env: {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid'}});
  await git('init', '-q', '-b', 'main');
  await git('commit', '-q', '--allow-empty', '-m', 'init');
  await git('branch', 'feature/mask');
  const init = await cli('init', '--project', 'shop', '--odoo-bin', STANDIN);
  expect(init.exitCode, init.stderr).toBe(0);
  await writeFile(join(project.dir, 'masking.yaml'), RULES);
  await writeFile(join(project.dir, 'bad.yaml'), RULES.replace('street2: null', 'street9: null'));
  const up = await cli<PreviewUpResult>('preview', 'up', '--branch', 'feature/mask');
  expect(up.exitCode, up.stderr).toBe(0);
  env = up.json.result?.env ?? '';
}, 180_000);

afterAll(async () => {
  await runCli(['down'], {cwd: project.dir});
  await project.remove();
});

describe('db mask', () => {
  it('prints the plan with --dry-run (statements, coverage, no salt)', async () => {
    const res = await cli<DbMaskResult>('db', 'mask', '--env', env, '--rules', 'masking.yaml', '--dry-run');
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('db mask', res.json.result);
    const plan = res.json.result?.plan;
    expect(res.json.result).toMatchObject({env, dryRun: true, run: null, rulesFile: join(project.dir, 'masking.yaml')});
    expect(plan?.statements.some((s) => s.startsWith('WITH osn_u AS (\nUPDATE public."res_partner" AS t'))).toBe(true);
    expect(plan?.uncovered).toEqual([]);
    expect(plan?.coverage).toContainEqual({table: 'res_partner', column: 'email', type: 'character varying', strategy: 'fake-email'});
    expect(JSON.stringify(res.json)).not.toContain(SALT.MASKING_SALT);
    const human = await runCli(['db', 'mask', '--env', env, '--rules', 'masking.yaml', '--dry-run'], {cwd: project.dir, env: SALT});
    expect(human.stdout).toMatch(/TABLE\s+COLUMN\s+TYPE\s+STRATEGY/);
  });

  it('masks as a db-mask run and scans the result', async () => {
    const res = await cli<DbMaskResult>('db', 'mask', '--env', env, '--rules', 'masking.yaml');
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('db mask', res.json.result);
    expect(res.json.result?.run).toMatchObject({type: 'db-mask', state: 'succeeded', result: {scan: {ok: true}}});
  });

  it('names the rule on a missing column (exit 3) and a missing rules file', async () => {
    const bad = await cli('db', 'mask', '--env', env, '--rules', 'bad.yaml', '--dry-run');
    expect(bad.exitCode, bad.stderr).toBe(0); // the dry run reports plan errors as warnings
    expect(bad.json.warnings.join('\n')).toContain('rules[0] res_partner.street9: column res_partner.street9 does not exist');
    const run = await cli('db', 'mask', '--env', env, '--rules', 'bad.yaml');
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.json.error?.message).toContain('rules[0] res_partner.street9');
    const missing = await cli('db', 'mask', '--env', env, '--rules', 'nope.yaml', '--dry-run');
    expect(missing.exitCode).toBe(3);
  });
});
