// Builds a local provider in a temp project folder, with the Odoo stand-in as odoo-bin.
import {randomBytes} from 'node:crypto';
import {chmod, mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {delimiter, join, resolve} from 'node:path';
import {systemClock} from '../../../src/core/clock.js';
import {nullLogger} from '../../../src/core/logger.js';
import {LocalProvider, type LocalProviderOptions} from '../../../src/providers/local/local-provider.js';
import type {OdooCode} from '../../../src/providers/provider.js';
import type {ContractFixture} from './contract.js';

const REPO = resolve(import.meta.dirname, '../../..');
export const STANDIN_BIN = join(REPO, 'test/fixtures/odoo-standin/odoo-bin');

// The stand-in needs Node >= 22.6: the project's node comes first in PATH.
const bin = join(REPO, 'node_modules/.bin');
if (!(process.env['PATH'] ?? '').split(delimiter).includes(bin)) process.env['PATH'] = `${bin}${delimiter}${process.env['PATH'] ?? ''}`;

export interface LocalFixture extends ContractFixture {
  readonly provider: LocalProvider;
  readonly projectRoot: string;
  readonly project: string;
}

export const standinCode = (addonsPaths: readonly string[] = []): OdooCode => ({version: '17.0', bin: STANDIN_BIN, addonsPaths});

export async function makeLocalFixture(opts: LocalProviderOptions = {}): Promise<LocalFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'odoo-sh-local-'));
  await chmod(dir, 0o755); // PostgreSQL runs as an unprivileged account when we are root
  const projectRoot = join(dir, 'project');
  const project = 'shop';
  const provider = new LocalProvider(
    {config: {project, projectRoot, postgres: {}}, clock: systemClock, logger: nullLogger},
    {
      postgresSettings: {fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off'},
      stopGraceMs: 5000,
      ...opts,
    },
  );
  return {
    provider,
    projectRoot,
    project,
    code: standinCode(),
    dbPrefix: `t${randomBytes(3).toString('hex')}`,
    async cleanup() {
      await provider.down(AbortSignal.timeout(60_000)).catch(() => undefined);
      await rm(dir, {recursive: true, force: true});
    },
  };
}
