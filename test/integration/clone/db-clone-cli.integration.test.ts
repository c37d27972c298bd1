/** `db clone` through the built CLI: refusals and their exit codes (the build itself: clone.integration.test.ts). */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, STANDIN, tempProject} from '../../helpers/cli.js';

let project: {dir: string; remove(): Promise<void>};
const cli = (...args: string[]) => runCli([...args, '--json'], {cwd: project.dir});

beforeAll(async () => {
  project = await tempProject('odoo-sh-next-clone-');
  const init = await cli('init', '--project', 'shop', '--odoo-bin', STANDIN);
  expect(init.exitCode, init.stderr).toBe(0);
});

afterAll(async () => {
  await runCli(['down'], {cwd: project.dir});
  await project.remove();
});

describe('db clone', () => {
  it('refuses to clone into production (exit 2)', async () => {
    const res = await cli('db', 'clone', '--from', 'production', '--to', 'production');
    expect(res.exitCode, res.stderr).toBe(2);
    expect(res.json.error?.message).toMatch(/refusing to clone into production/);
  });

  it('refuses an invalid environment name (exit 2)', async () => {
    expect((await cli('db', 'clone', '--to', 'Not_Valid')).exitCode).toBe(2);
  });

  it('needs production up first (exit 4) and creates nothing', async () => {
    const res = await cli('db', 'clone', '--from', 'production', '--to', 'staging');
    expect(res.exitCode, res.stderr).toBe(4);
    expect(res.json.error?.message).toMatch(/bring production up first/);
    const list = await runCli<{name: string}[]>(['env', 'list', '--json'], {cwd: project.dir});
    expect(list.json.result?.map((e) => e.name)).not.toContain('staging');
  });
});
