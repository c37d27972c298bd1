/**
 * The template cache key of a fresh database. Pure: the caller hashes the files, this only
 * combines. Two fresh databases may share a template exactly when their keys are equal.
 *
 * key = sha256 of a canonical JSON document holding:
 * - the format version (bump FORMAT when the meaning of the key changes);
 * - the Odoo series;
 * - the module list, sorted and de-duplicated (module names are case-sensitive in Odoo);
 * - the demo flag;
 * - the file hashes (addons' manifests, data files, code...), sorted by path, so the order the
 *   caller found them in does not matter.
 */
import {createHash} from 'node:crypto';

const FORMAT = 'odoo-sh-next/template-key/v1';

export interface TemplateKeyInput {
  readonly odooVersion: string;
  readonly modules: readonly string[];
  readonly demo: boolean;
  /** path (e.g. `sale/__manifest__.py`) → content hash (any stable hash text). */
  readonly fileHashes: Readonly<Record<string, string>>;
}

/** 64 hex digits. */
export function templateKey(input: TemplateKeyInput): string {
  const modules = [...new Set(input.modules)].sort();
  const files = Object.keys(input.fileHashes)
    .sort()
    .map((path) => [path, input.fileHashes[path]]);
  const doc = JSON.stringify([FORMAT, input.odooVersion, modules, input.demo, files]);
  return createHash('sha256').update(doc, 'utf8').digest('hex');
}

/** The template database of a key: `tpl_` + its first 16 hex digits. */
export function templateDatabaseName(key: string): string {
  if (!/^[0-9a-f]{16,64}$/.test(key)) throw new TypeError(`not a template key: ${key}`);
  return `tpl_${key.slice(0, 16)}`;
}
