/**
 * The project's state folder `.odoo-sh-next/` (local clusters, environments, backups, scratch
 * space) sits in the project's checkout: it carries its own `.gitignore` (`*`, as Python's venv
 * and pytest's cache do), so `git add -A` never picks up a running cluster's files, dumps or
 * backups, whatever the project's own .gitignore says.
 */
import {mkdir, writeFile} from 'node:fs/promises';
import {join} from 'node:path';

export const STATE_DIR = '.odoo-sh-next';

/** The project's scratch folder (`.odoo-sh-next/tmp`): dumps, work folders of backups, restores, clones and upgrades. */
export const scratchDirOf = (projectRoot: string): string => join(projectRoot, STATE_DIR, 'tmp');

const GITIGNORE = '# odoo-sh-next state (clusters, environments, backups, scratch): never committed\n*\n';

/** Creates `<projectRoot>/.odoo-sh-next/` and its .gitignore when missing (an existing one is left as is). */
export async function ensureStateDir(projectRoot: string): Promise<string> {
  const dir = join(projectRoot, STATE_DIR);
  await mkdir(dir, {recursive: true});
  await writeFile(join(dir, '.gitignore'), GITIGNORE, {flag: 'wx'}).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return dir;
}
