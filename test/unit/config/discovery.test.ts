import {join} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {findConfigFile, loadConfig} from '../../../src/core/config/load-config.js';
import {ConfigError} from '../../../src/core/errors.js';
import {rejection, tempProject, type TempProject} from './temp-project.js';

let project: TempProject | undefined;
afterEach(async () => {
  await project?.cleanup();
  project = undefined;
});

describe('config discovery', () => {
  it.each([
    ['odoo-sh-next.config.yaml', 'project: from-yaml\n'],
    ['.odoo-sh-nextrc', 'project: from-rc\n'],
    ['.odoo-sh-nextrc.json', '{"project": "from-rc-json", "backups": {"retention": {"daily": 2}}}'],
    ['.odoo-sh-nextrc.yaml', 'project: from-rc-yaml\n'],
    ['.odoo-sh-nextrc.yml', 'project: from-rc-yml\n'],
    ['package.json', JSON.stringify({name: 'x', 'odoo-sh-next': {project: 'from-package'}})],
  ])('finds %s', async (file, content) => {
    project = await tempProject({[file]: content});
    expect(await findConfigFile(project.dir)).toBe(join(project.dir, file));
    const config = await loadConfig({cwd: project.dir, env: {}});
    expect(config.project).toMatch(/^from-/);
    expect(config.configFile).toBe(join(project.dir, file));
  });

  it('prefers odoo-sh-next.config.yaml and skips a package.json without the key', async () => {
    project = await tempProject({'package.json': '{"name": "x"}', '.odoo-sh-nextrc.json': '{"project": "rc"}'});
    expect((await loadConfig({cwd: project.dir, env: {}})).project).toBe('rc');
    await project.write('odoo-sh-next.config.yaml', 'project: main-file\n');
    expect((await loadConfig({cwd: project.dir, env: {}})).project).toBe('main-file');
  });

  it('never uses a config in a parent folder', async () => {
    project = await tempProject({'odoo-sh-next.config.yaml': 'project: parent\n', 'child/.keep': ''});
    const child = join(project.dir, 'child');
    expect(await findConfigFile(child)).toBeUndefined();
    const error = await rejection(() => loadConfig({cwd: child, env: {}}));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`no odoo-sh-next.config.yaml in ${child}`);
    expect(error.actions).toEqual(['run `odoo-sh-next init`']);
  });

  it('findConfigFile returns a file even when it does not parse', async () => {
    project = await tempProject({'odoo-sh-next.config.yaml': 'project: [\n'});
    expect(await findConfigFile(project.dir)).toBe(join(project.dir, 'odoo-sh-next.config.yaml'));
  });

  it('reports syntax errors in JSON files with line and column', async () => {
    project = await tempProject({'.odoo-sh-nextrc.json': '{\n  "project": "x",,\n}'});
    const error = await rejection(() => loadConfig({cwd: project!.dir, env: {}}));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^\.odoo-sh-nextrc\.json:2:\d+: /);
  });

  it('names package.json in validation errors', async () => {
    project = await tempProject({'package.json': JSON.stringify({'odoo-sh-next': {project: 'p', odoo: {verison: '17.0'}}})});
    const error = await rejection(() => loadConfig({cwd: project!.dir, env: {}}));
    expect(error.message).toBe('package.json: odoo.verison: unknown key "verison" at odoo; did you mean "version"?');
  });

  describe('an explicit file', () => {
    it('is loaded from a path relative to cwd, with paths relative to its own folder', async () => {
      project = await tempProject({'deploy/prod.yaml': 'project: explicit\nodoo: {bin: ./odoo-bin}\n'});
      const config = await loadConfig({cwd: project.dir, file: 'deploy/prod.yaml', env: {}});
      expect(config.project).toBe('explicit');
      expect(config.configFile).toBe(join(project.dir, 'deploy/prod.yaml'));
      expect(config.projectRoot).toBe(join(project.dir, 'deploy'));
      expect(config.odoo.bin).toBe(join(project.dir, 'deploy/odoo-bin'));
    });

    it('names the file relative to cwd in errors', async () => {
      project = await tempProject({'deploy/prod.yaml': 'project: p\nstate: {leaseSeconds: 1}\n'});
      const error = await rejection(() => loadConfig({cwd: project!.dir, file: 'deploy/prod.yaml', env: {}}));
      expect(error.message).toBe('deploy/prod.yaml: state.leaseSeconds: expected a whole number from 5 to 3600, found 1');
    });

    it('is an error when missing', async () => {
      project = await tempProject({'odoo-sh-next.config.yaml': 'project: p\n'});
      const error = await rejection(() => loadConfig({cwd: project!.dir, file: 'nope.yaml', env: {}}));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(`config file not found: ${join(project.dir, 'nope.yaml')}`);
    });

    it('refuses JavaScript config files', async () => {
      project = await tempProject({'config.js': 'export default {}'});
      const error = await rejection(() => loadConfig({cwd: project!.dir, file: 'config.js', env: {}}));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain('unsupported config file type ".js"');
    });
  });
});
