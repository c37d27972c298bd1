import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {assertContract, runCli, STANDIN, tempProject} from '../helpers/cli.js';

let project: {dir: string; remove(): Promise<void>};
beforeAll(async () => {
  project = await tempProject();
});
afterAll(async () => {
  await runCli(['down'], {cwd: project.dir});
  await project.remove();
});

describe('CLI basics', () => {
  it('--help lists the topics and --version answers', async () => {
    const help = await runCli(['--help'], {cwd: project.dir});
    expect(help.exitCode).toBe(0);
    for (const topic of ['preview', 'run', 'state', 'audit', 'config']) expect(help.stdout).toContain(topic);
    expect((await runCli(['--version'], {cwd: project.dir})).stdout).toMatch(/^odoo-sh-next\/\d+\.\d+\.\d+/);
  });

  it('a command without a configuration says to run init (exit 3)', async () => {
    const res = await runCli(['config', 'show', '--json'], {cwd: project.dir});
    expect(res.exitCode).toBe(3);
    expect(res.json.error!.message).toContain('no odoo-sh-next.config.yaml');
    expect(res.json.error!.actions.join(' ')).toContain('odoo-sh-next init');
  });

  it('unknown flags and bad flag values are usage errors (exit 2) with a JSON error envelope', async () => {
    const res = await runCli(['run', 'list', '--nope', '--json'], {cwd: project.dir});
    expect(res.exitCode).toBe(2);
    expect(res.json.error!.code).toBe('USAGE');
    const bad = await runCli(['env', 'list', '--type', 'bogus', '--json'], {cwd: project.dir});
    expect(bad.exitCode).toBe(2);
    expect(bad.json.error!.message).toContain('to be one of');
  });

  it('init writes a config that loads, prepares the state store, and refuses to overwrite it', async () => {
    const res = await runCli(['init', '--project', 'basics', '--odoo-bin', STANDIN, '--json'], {cwd: project.dir});
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('init', res.json.result);
    const again = await runCli(['init', '--json'], {cwd: project.dir});
    expect(again.exitCode).toBe(5);
    const show = await runCli(['config', 'show', '--json'], {cwd: project.dir});
    expect(show.exitCode).toBe(0);
    expect((show.json.result as {project: string}).project).toBe('basics');
    const status = await runCli(['state', 'status', '--json'], {cwd: project.dir});
    assertContract('state status', status.json.result);
    expect((status.json.result as {upToDate: boolean}).upToDate).toBe(true);
  });

  it('doctor runs as a run and reports every check', async () => {
    const res = await runCli(['doctor', '--json'], {cwd: project.dir});
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('doctor', res.json.result);
  });

  it.each([
    ['a YAML syntax error', 'project: [oops\n', /:\d+:\d+/],
    ['an unknown key', 'project: basics\nbackups:\n  retension: {daily: 7}\n', /backups.*retension.*did you mean "retention"/],
    ['a wrong type', 'project: basics\nstate:\n  leaseSeconds: lots\n', /state\.leaseSeconds/],
    ['a negative retention', 'project: basics\nbackups:\n  retention: {daily: -1}\n', /backups\.retention\.daily/],
    ['a missing env var', 'project: basics\nstate:\n  url: ${NO_SUCH_VAR_ODOO_SH}\n', /NO_SUCH_VAR_ODOO_SH/],
  ])('a bad config file (%s) exits 3 with the documented message and changes nothing', async (_what, text, message) => {
    const file = join(project.dir, 'odoo-sh-next.config.yaml');
    const good = readFileSync(file, 'utf8');
    const before = await runCli(['audit', 'list', '--json'], {cwd: project.dir});
    writeFileSync(file, text);
    try {
      const res = await runCli(['preview', 'up', '--branch', 'feature/x', '--json'], {cwd: project.dir});
      expect(res.exitCode).toBe(3);
      expect(res.json.error!.message).toMatch(message);
      expect(res.json.error!.message).toContain('odoo-sh-next.config.yaml');
      expect(readFileSync(file, 'utf8')).toBe(text);
    } finally {
      writeFileSync(file, good);
    }
    const after = await runCli(['audit', 'list', '--json'], {cwd: project.dir});
    expect(after.json.result).toEqual(before.json.result);
  });
});
