import {existsSync} from 'node:fs';
import {writeFile} from 'node:fs/promises';
import {basename, join} from 'node:path';
import {ConflictError, UsageError} from '../errors.js';
import {starterConfig} from '../config/starter-config.js';
import {findConfigFile} from '../config/load-config.js';
import type {ProviderName} from '../config/schema-sections.js';

export const CONFIG_FILE_NAME = 'odoo-sh-next.config.yaml';
const PROJECT_NAME = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

/** Pure: a project name from a folder name (lowercase, dashes), or undefined when none can be made. */
export function projectNameFromFolder(folder: string): string | undefined {
  const slug = basename(folder).normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/g, '');
  return PROJECT_NAME.test(slug) ? slug : undefined;
}

export interface InitOptions {
  readonly cwd: string;
  readonly project?: string | undefined;
  readonly provider: ProviderName;
  readonly odooBin?: string | undefined;
  readonly odooVersion?: string | undefined;
  readonly force: boolean;
}

export interface InitWritten {
  readonly configFile: string;
  readonly project: string;
  readonly overwritten: boolean;
}

/** Writes a commented starter configuration; refuses to replace an existing one without force. */
export async function writeStarterConfig(opts: InitOptions): Promise<InitWritten> {
  const project = opts.project ?? projectNameFromFolder(opts.cwd);
  if (!project) {
    throw new UsageError(`cannot derive a project name from the folder "${basename(opts.cwd)}"`, {actions: ['pass --project NAME']});
  }
  if (!PROJECT_NAME.test(project)) {
    throw new UsageError(`invalid project name "${project}": use lowercase letters, digits and dashes, at most 40 characters`);
  }
  const existing = await findConfigFile(opts.cwd);
  if (existing && !opts.force) {
    throw new ConflictError(`a configuration already exists: ${existing}`, {
      actions: ['edit it', 'or run `odoo-sh-next init --force` to replace it with a starter config'],
    });
  }
  const configFile = existing && basename(existing) === CONFIG_FILE_NAME ? existing : join(opts.cwd, CONFIG_FILE_NAME);
  const text = starterConfig({
    project,
    provider: opts.provider,
    ...(opts.odooVersion ? {odooVersion: opts.odooVersion} : {}),
    ...(opts.odooBin ? {odooBin: opts.odooBin} : {}),
  });
  await writeFile(configFile, text, {mode: 0o644});
  return {configFile, project, overwritten: Boolean(existing) && existsSync(configFile)};
}
