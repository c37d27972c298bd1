/**
 * The Odoo code a project runs, from its configuration. Pure.
 */
import {ConfigError, NotImplementedError} from '../errors.js';
import type {OdooCode} from '../../providers/provider.js';

export interface OdooSectionInput {
  readonly version: string;
  readonly bin?: string | undefined;
  readonly image?: string | undefined;
  readonly addons: readonly ({readonly path: string} | {readonly git: string; readonly commit: string; readonly subdir?: string | undefined})[];
}

/**
 * OdooCode from the `odoo` config section (paths already absolute). Git addon sources need a
 * checkout first, which this pure function cannot do: they are refused here.
 */
export function odooCodeFromConfig(odoo: OdooSectionInput, opts: {readonly requireBin?: boolean} = {}): OdooCode {
  const addonsPaths: string[] = [];
  for (const source of odoo.addons) {
    if ('path' in source) addonsPaths.push(source.path);
    else {
      throw new NotImplementedError(`git addon sources (${source.git}) are not checked out yet: use {path: FOLDER} for now`, {
        actions: ['clone the repository yourself and list its folder under odoo.addons as {path: ...}'],
      });
    }
  }
  if (opts.requireBin && !odoo.bin) {
    throw new ConfigError('odoo.bin is required by the local provider (path of odoo-bin)', {
      actions: ['set odoo.bin in odoo-sh-next.config.yaml, e.g. bin: ../odoo/odoo-bin'],
    });
  }
  return {
    version: odoo.version,
    addonsPaths,
    ...(odoo.bin ? {bin: odoo.bin} : {}),
    ...(odoo.image ? {image: odoo.image} : {}),
  };
}
