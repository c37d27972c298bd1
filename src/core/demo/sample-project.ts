/** Writes the demo's sample Odoo project: a git repository with one addon and two feature branches. */
import {execa} from 'execa';
import {mkdir, writeFile} from 'node:fs/promises';
import {join} from 'node:path';

export const DEMO_BRANCHES = ['feature/hello', 'feature/world'] as const;

const MANIFEST = `{
    'name': 'Demo Shop',
    'version': '1.0',
    'summary': 'Sample addon of the odoo-sh-next demo',
    'depends': ['base'],
    'data': [],
    'license': 'LGPL-3',
}
`;

async function git(cwd: string, args: string[]): Promise<void> {
  await execa('git', args, {
    cwd, stdin: 'ignore',
    env: {GIT_AUTHOR_NAME: 'odoo-sh-next demo', GIT_AUTHOR_EMAIL: 'demo@example.invalid', GIT_COMMITTER_NAME: 'odoo-sh-next demo', GIT_COMMITTER_EMAIL: 'demo@example.invalid'},
  });
}

export async function writeSampleProject(dir: string): Promise<void> {
  const addon = join(dir, 'addons', 'demo_shop');
  await mkdir(addon, {recursive: true});
  await writeFile(join(addon, '__manifest__.py'), MANIFEST);
  await writeFile(join(addon, '__init__.py'), '');
  await writeFile(join(dir, '.gitignore'), '.odoo-sh-next/\n');
  await git(dir, ['init', '-q', '-b', 'main']);
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', 'Sample Odoo project']);
  for (const b of DEMO_BRANCHES) await git(dir, ['branch', b]);
}
