/**
 * The upgrade advisor end to end (issue 6, points 5 and 7) through the built CLI on the local provider with the
 * Odoo stand-in: production runs 17.0 with two custom modules; the target is the stand-in as 18.0 (a wrapper
 * odoo-bin). upg_alpha's manifest moved to 1.1 with a post-migration script (its effect is checked in the kept
 * scratch database), upg_beta's pre-migration script fails → a blocked report listing alpha updated, beta failed
 * with its error lines, the removed-API findings with file:line, sizes and the smoke result. Then, with beta's
 * script gone, a ready report; the policy rule denies a production deploy of 18.0 until another admin approves it.
 */
import {execa} from 'execa';
import {chmod, mkdir, readFile, readdir, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {assertContract, runCli, STANDIN, tempProject} from '../helpers/cli.js';
import type {UpgradeReport} from '../../src/core/upgrade/report.js';

let project: {dir: string; remove(): Promise<void>};
const run = <R>(args: string[], env: Record<string, string> = {}) => runCli<R>([...args, '--json'], {cwd: project.dir, env, timeout: 240_000});
const cli = <R>(...args: string[]) => run<R>(args);
const gitEnv = {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid'};
const git = async (...args: string[]) => (await execa('git', args, {cwd: project.dir, env: gitEnv})).stdout.trim();
const write = async (path: string, text: string) => {
  await mkdir(join(project.dir, path, '..'), {recursive: true});
  await writeFile(join(project.dir, path), text);
};

async function sql<T extends pg.QueryResultRow>(database: string, text: string): Promise<T[]> {
  const socketDir = join(project.dir, '.odoo-sh-next', 'postgres', 'run');
  const sock = (await readdir(socketDir)).find((f) => f.startsWith('.s.PGSQL.') && !f.endsWith('.lock'))!;
  const client = new pg.Client({host: socketDir, port: Number(sock.slice('.s.PGSQL.'.length)), user: 'postgres', database});
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

interface PreviewResult {
  run: {id: string; state: string};
  reportId: string;
  verdict: string;
  reasons: string[];
  updated: string[];
  failed: string[];
  removedApis: number;
  smoke: string;
  kept: {env: string; database: string} | null;
}
interface DiscardResult {
  run: {id: string; state: string; type: string};
  discarded: {previewRun: string; env: string; databases: {name: string; dropped: boolean}[]; environmentRemoved: boolean; nothingLeft: boolean} | null;
}
interface ShowResult {id: string; verdict: string; approvedBy: string | null; report: UpgradeReport}

const PASSWORD = {ALICE_PASSWORD: 'alice-password-0123456789'};

beforeAll(async () => {
  project = await tempProject('odoo-sh-next-upgrade-');
  await write('addons/upg_alpha/__manifest__.py', "{'name': 'Alpha', 'version': '1.0', 'depends': ['base']}\n");
  await write('addons/upg_beta/__manifest__.py', "{'name': 'Beta', 'version': '1.0', 'depends': ['base']}\n");
  // The target Odoo: the stand-in claiming 18.0.
  await write('odoo18/odoo-bin', `#!/bin/sh\nODOO_STANDIN_SERIES=18.0 exec "${STANDIN}" "$@"\n`);
  await chmod(join(project.dir, 'odoo18', 'odoo-bin'), 0o755);
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'alpha and beta 1.0');
}, 60_000);

afterAll(async () => {
  await runCli(['down'], {cwd: project.dir});
  await project.remove();
});

describe('upgrade advisor (local provider, Odoo stand-in 17.0 → 18.0)', () => {
  let blocked: PreviewResult;

  it('production runs 17.0 with the custom modules', async () => {
    expect((await cli('init', '--project', 'upg', '--odoo-bin', STANDIN)).exitCode).toBe(0);
    const file = join(project.dir, 'odoo-sh-next.config.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('addons: []', 'addons: [{path: ./addons}]')
      .replace('modules: [base]', 'modules: [base, upg_alpha, upg_beta]'));
    const res = await cli('deploy', '--env', 'production', '--yes');
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('usage errors: --image on the local provider, a lower or unknown --to-version', async () => {
    const image = await cli('upgrade', 'preview', '--to-version', '18.0', '--image', 'odoo:18.0');
    expect(image.exitCode).toBe(2);
    expect(image.json.error!.message).toContain('local provider');
    expect((await cli('upgrade', 'preview', '--to-version', '16.0', '--odoo-bin', 'odoo18/odoo-bin')).exitCode).toBe(2);
    expect((await cli('upgrade', 'preview', '--to-version', '15.0', '--odoo-bin', 'odoo18/odoo-bin')).exitCode).toBe(2);
  });

  it('a preview with a moved module and a failing update script gives a blocked report', async () => {
    await write('addons/upg_alpha/__manifest__.py', "{'name': 'Alpha', 'version': '1.1', 'depends': ['base']}\n");
    await write('addons/upg_alpha/migrations/1.1/post-copy.py',
      'def migrate(cr, version):\n    cr.execute("""CREATE TABLE upg_alpha_marker AS SELECT \'migrated from 17\'::text AS note""")\n');
    await write('addons/upg_alpha/models/partner.py', 'from odoo import models\n\n\nclass Partner(models.Model):\n    _inherit = "res.partner"\n\n    def name_get(self):\n        return []\n');
    await write('addons/upg_alpha/views/partner.xml', '<odoo>\n  <record id="v" model="ir.ui.view">\n    <field name="arch" type="xml">\n      <tree><field name="name"/></tree>\n    </field>\n  </record>\n</odoo>\n');
    await write('addons/upg_beta/__manifest__.py', "{'name': 'Beta', 'version': '1.1', 'depends': ['base']}\n");
    await write('addons/upg_beta/migrations/1.1/pre-fail.py', 'def migrate(cr, version):\n    raise Exception("upg_beta cannot convert its legacy data")\n');

    const res = await cli<PreviewResult>('upgrade', 'preview', '--to-version', '18.0', '--odoo-bin', 'odoo18/odoo-bin', '--keep');
    expect(res.exitCode, res.stderr + res.stdout).toBe(0);
    assertContract('upgrade preview', res.json.result);
    blocked = res.json.result!;
    expect(blocked).toMatchObject({verdict: 'blocked', reportId: expect.stringMatching(/^upg-\d+$/)});
    expect(blocked.updated).toContain('upg_alpha');
    expect(blocked.failed).toContain('upg_beta');

    const show = await cli<ShowResult>('upgrade', 'report', 'show', blocked.reportId);
    expect(show.exitCode, show.stderr).toBe(0);
    assertContract('upgrade report show', show.json.result);
    const r = show.json.result!.report;
    expect(r.modules.updated).toContainEqual({name: 'upg_alpha', from: '17.0.1.0', to: '18.0.1.1'});
    const beta = r.modules.failed.find((f) => f.name === 'upg_beta')!;
    expect(beta.state).toBe('to upgrade');
    expect(beta.errors.map((e) => e.message).join('\n')).toContain('upg_beta cannot convert its legacy data');
    expect(r.log.modules['upg_beta']!.errors.length).toBeGreaterThan(0);
    expect(r.removedApis).toEqual(expect.arrayContaining([
      expect.objectContaining({file: 'upg_alpha/models/partner.py', line: 7, rule: 'name-get-removed'}),
      expect.objectContaining({file: 'upg_alpha/views/partner.xml', line: 4, rule: 'tree-view'}),
    ]));
    expect(r.databaseSize.before).toBeGreaterThan(0);
    expect(r.databaseSize.after).toBeGreaterThan(0);
    expect(r.smoke.ran || r.smoke.error !== undefined).toBe(true);
    expect(r.verdict.reasons.join('\n')).toContain('upg_beta');

    // The post-migration script of alpha ran on the copy (kept with --keep), production is untouched.
    const database = r.database;
    expect(await sql(database, 'select note from upg_alpha_marker')).toEqual([{note: 'migrated from 17'}]);
    const prod = (await cli<{databaseName: string}>('env', 'show', 'production')).json.result!.databaseName;
    expect(await sql(prod, "select to_regclass('upg_alpha_marker') as t")).toEqual([{t: null}]);
    expect(await sql(prod, "select latest_version from ir_module_module where name = 'upg_alpha'")).toEqual([{latest_version: '17.0.1.0'}]);

    // By run id, as Markdown.
    const md = await runCli(['upgrade', 'report', 'show', blocked.run.id], {cwd: project.dir});
    expect(md.exitCode, md.stderr).toBe(0);
    expect(md.stdout).toContain('**Verdict: BLOCKED**');
    expect(md.stdout).toContain('upg_alpha/models/partner.py:7');
    expect(md.stdout).toContain('upg_beta');
  });

  it('upgrade discard removes what --keep kept (database, filestore, work folder), once; refuses what is not a kept preview', async () => {
    expect(blocked.kept).toEqual({env: `upgrade-${blocked.run.id}`, database: expect.stringContaining(`__b${blocked.run.id}`)});
    const {env, database} = blocked.kept!;
    const envDir = join(project.dir, '.odoo-sh-next', 'envs', env);
    await readdir(envDir); // there, with its filestore
    const workDir = join(project.dir, '.odoo-sh-next', 'tmp', `${env}-1`);
    expect(await readdir(workDir)).toContain('odoo-upgrade.log');
    expect(await sql('postgres', `select 1 as one from pg_database where datname = '${database}'`)).toEqual([{one: 1}]);

    // By report id; audited as a run of its own.
    const res = await cli<DiscardResult>('upgrade', 'discard', blocked.reportId);
    expect(res.exitCode, res.stderr + res.stdout).toBe(0);
    assertContract('upgrade discard', res.json.result);
    expect(res.json.result!.run).toMatchObject({state: 'succeeded', type: 'upgrade-discard'});
    expect(res.json.result!.discarded).toEqual({previewRun: blocked.run.id, env, databases: [{name: database, dropped: true}], environmentRemoved: true, nothingLeft: false});
    expect(await sql('postgres', `select 1 as one from pg_database where datname = '${database}'`)).toEqual([]);
    await expect(readdir(envDir)).rejects.toMatchObject({code: 'ENOENT'});
    await expect(readdir(workDir)).rejects.toMatchObject({code: 'ENOENT'});
    const audit = await cli<{entries: {action: string; target: string}[]}>('audit', 'list', '--limit', '5');
    expect(JSON.stringify(audit.json.result)).toContain('upgrade-discard');

    // Again, by run id: nothing left, still a success.
    const again = await cli<DiscardResult>('upgrade', 'discard', blocked.run.id);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json.result!.discarded).toMatchObject({nothingLeft: true, environmentRemoved: false, databases: [{name: database, dropped: false}]});

    // Not a preview, a ref that is neither id, a preview that kept nothing: refused, nothing queued.
    const runCount = async () => (await cli<{runs: {id: string}[]}>('run', 'list', '--limit', '1000')).json.result!.runs.length;
    const before = await runCount();
    const deployRun = (await cli<{runs: {id: string}[]}>('run', 'list', '--type', 'deploy')).json.result!.runs[0]!.id;
    const notPreview = await cli('upgrade', 'discard', deployRun);
    expect(notPreview.exitCode).toBe(2);
    expect(notPreview.json.error!.message).toContain('not an upgrade preview');
    expect((await cli('upgrade', 'discard', 'upg-x; drop database')).exitCode).toBe(2);
    expect((await cli('upgrade', 'discard', '999999')).exitCode).toBe(4);
    expect(await runCount()).toBe(before);
  });

  it('the policy admits a major-version deploy only with an approved ready report', async () => {
    await rm(join(project.dir, 'addons', 'upg_beta', 'migrations'), {recursive: true});
    const ready = await cli<PreviewResult>('upgrade', 'preview', '--to-version', '18.0', '--odoo-bin', 'odoo18/odoo-bin');
    expect(ready.exitCode, ready.stderr).toBe(0);
    expect(ready.json.result, JSON.stringify(ready.json.result)).toMatchObject({verdict: 'ready', smoke: 'pass', kept: null});
    // Without --keep nothing is left to discard.
    const none = await cli('upgrade', 'discard', ready.json.result!.run.id);
    expect(none.exitCode).toBe(5);
    expect(none.json.error!.message).toContain('without --keep');

    expect((await cli('policy', 'set', '--env-type', 'production', '--rule', 'upgrade report approved when the Odoo major version changes')).exitCode).toBe(0);
    const file = join(project.dir, 'odoo-sh-next.config.yaml');
    const config = await readFile(file, 'utf8');
    await writeFile(file, config.replace(/version: ['"]?17\.0['"]?/, 'version: "18.0"').replace(STANDIN, join(project.dir, 'odoo18', 'odoo-bin')));
    await git('add', '-A');
    await git('commit', '-q', '-m', 'odoo 18');

    const denied = await cli('deploy', '--env', 'production', '--yes');
    expect(denied.exitCode, denied.stderr).toBe(8);
    expect(JSON.stringify(denied.json.error)).toContain('upgrade report is not approved');

    // The requester cannot approve it; another admin can.
    expect((await cli('upgrade', 'report', 'approve', ready.json.result!.reportId)).exitCode).toBe(8);
    expect((await run(['members', 'add', 'alice', '--role', 'admin', '--password-from-env', 'ALICE_PASSWORD'], PASSWORD)).exitCode).toBe(0);
    const status = await cli<{location: string}>('state', 'status');
    const stateDb = /database ([a-z0-9_]+)\)$/.exec(status.json.result!.location)![1]!;
    const socketDir = join(project.dir, '.odoo-sh-next', 'postgres', 'run');
    const sock = (await readdir(socketDir)).find((f) => f.startsWith('.s.PGSQL.') && !f.endsWith('.lock'))!;
    const aliceUrl = `postgresql:///${stateDb}?host=${encodeURIComponent(socketDir)}&port=${sock.slice('.s.PGSQL.'.length)}&user=alice&password=\${ALICE_PASSWORD}`;
    const now = await readFile(file, 'utf8');
    await writeFile(join(project.dir, 'alice.config.yaml'), now.replace('state:\n', `state:\n  url: ${JSON.stringify(aliceUrl)}\n`));
    // A blocked report cannot be approved, even by another admin.
    expect((await run(['upgrade', 'report', 'approve', blocked.reportId, '--config', 'alice.config.yaml'], PASSWORD)).exitCode).toBe(5);
    const approved = await run<{approvedBy: string}>(['upgrade', 'report', 'approve', ready.json.result!.reportId, '--config', 'alice.config.yaml'], PASSWORD);
    expect(approved.exitCode, approved.stderr + approved.stdout).toBe(0);
    assertContract('upgrade report approve', approved.json.result);
    expect(approved.json.result!.approvedBy).toBe('alice');

    const allowed = await cli('policy', 'test', '--action', 'deploy', '--env', 'production');
    expect(allowed.exitCode, allowed.stderr + allowed.stdout).toBe(0);
    const audit = await cli<{entries: {action: string; actor: string}[]}>('audit', 'list', '--action', 'upgrade.*');
    expect(audit.json.result!.entries.map((a) => `${a.action} ${a.actor}`)).toEqual(expect.arrayContaining(['upgrade.approve alice', 'upgrade.report postgres']));
  });
});
