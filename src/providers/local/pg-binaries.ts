import {execa} from 'execa';
import {access, readdir, realpath} from 'node:fs/promises';
import {constants} from 'node:fs';
import {delimiter, dirname, join} from 'node:path';
import {ProviderError} from '../../core/errors.js';

const INSTALL_HINT = [
  'Install the PostgreSQL server binaries, e.g. `apt-get install postgresql` (Debian/Ubuntu), `dnf install postgresql-server` (Fedora) or `brew install postgresql@16` (macOS)',
  'or point `postgres.binDir` in odoo-sh-next.config.yaml at the folder holding initdb, pg_ctl and pg_dump',
];

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function hasServerBinaries(dir: string): Promise<boolean> {
  return (await isExecutable(join(dir, 'initdb'))) && (await isExecutable(join(dir, 'pg_ctl')));
}

/**
 * Finds a folder holding PostgreSQL's server binaries (initdb, pg_ctl, postgres, pg_dump...).
 * Order: the configured binDir, PATH, `pg_config --bindir`, the newest /usr/lib/postgresql/<v>/bin.
 */
export async function findPgBinDir(configured?: string): Promise<string> {
  if (configured) {
    if (await hasServerBinaries(configured)) return configured;
    throw new ProviderError(`postgres.binDir "${configured}" holds no initdb/pg_ctl`, {actions: INSTALL_HINT});
  }
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    if (await hasServerBinaries(dir)) {
      // PATH may hold only links to some tools (initdb, pg_ctl): the folder behind them has them all.
      return dirname(await realpath(join(dir, 'initdb')));
    }
  }
  try {
    const {stdout} = await execa('pg_config', ['--bindir']);
    if (await hasServerBinaries(stdout.trim())) return stdout.trim();
  } catch {
    // pg_config is optional
  }
  try {
    const versions = (await readdir('/usr/lib/postgresql'))
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = `/usr/lib/postgresql/${v}/bin`;
      if (await hasServerBinaries(dir)) return dir;
    }
  } catch {
    // no Debian layout
  }
  throw new ProviderError('no PostgreSQL server binaries (initdb, pg_ctl) found', {actions: INSTALL_HINT});
}

export async function pgBinaryVersion(binDir: string, tool = 'postgres'): Promise<string> {
  const {stdout} = await execa(join(binDir, tool), ['--version']);
  const m = /(\d+(?:\.\d+)*)/.exec(stdout);
  return m?.[1] ?? stdout.trim();
}
