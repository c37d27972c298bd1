/**
 * File hashes of the addons a fresh database installs, for the template cache key
 * (src/core/odoo/template-key.ts).
 *
 * Which files: every module in the dependency closure of the requested modules (plus `base`),
 * found like Odoo finds them (addons paths in order, then the server's own `odoo/addons` and
 * `addons` folders next to odoo-bin; the first folder holding `<module>/__manifest__.py` wins),
 * all files of each module except `static/` (served, never loaded into the database),
 * `__pycache__/`, `*.pyc` and `.git`. Python code counts: models shape the database.
 * A module found nowhere is recorded as `unresolved`, so installing it later changes the key.
 * Limit: the server's code outside its addons is identified by the Odoo series only.
 */
import {createHash} from 'node:crypto';
import {existsSync} from 'node:fs';
import {readFile, readdir, realpath} from 'node:fs/promises';
import {dirname, join, relative} from 'node:path';

const MANIFESTS = ['__manifest__.py', '__openerp__.py'];
const SKIP_DIRS = new Set(['static', '__pycache__', '.git', 'node_modules']);

/** The `depends` list of a manifest (a Python dict literal), read with a regular expression. */
export function manifestDepends(manifest: string): string[] {
  const m = /['"]depends['"]\s*:\s*[[(]([^\])]*)[\])]/.exec(manifest);
  if (!m?.[1]) return [];
  return [...m[1].matchAll(/['"]([A-Za-z0-9_]+)['"]/g)].map((x) => x[1] ?? '').filter(Boolean);
}

async function searchPath(addonsPaths: readonly string[], bin: string | undefined): Promise<string[]> {
  const dirs = [...addonsPaths];
  if (bin) {
    const root = dirname(await realpath(bin).catch(() => bin));
    dirs.push(join(root, 'odoo', 'addons'), join(root, 'addons'));
  }
  return dirs.filter((d) => existsSync(d));
}

function findModule(dirs: readonly string[], name: string): {dir: string; manifest: string} | undefined {
  for (const d of dirs) {
    for (const m of MANIFESTS) {
      const manifest = join(d, name, m);
      if (existsSync(manifest)) return {dir: join(d, name), manifest};
    }
  }
  return undefined;
}

async function hashTree(root: string, prefix: string, out: Record<string, string>): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, {withFileTypes: true});
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) await walk(full);
      } else if (e.isFile() && !/\.py[co]$/.test(e.name)) {
        out[`${prefix}/${relative(root, full)}`] = createHash('sha256').update(await readFile(full)).digest('hex');
      }
    }
  };
  await walk(root);
}

/** path → sha256 for the module closure of `modules` (see the module comment). */
export async function addonFileHashes(opts: {
  readonly addonsPaths: readonly string[];
  readonly bin?: string | undefined;
  readonly modules: readonly string[];
}): Promise<Record<string, string>> {
  const dirs = await searchPath(opts.addonsPaths, opts.bin);
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  const queue = ['base', ...opts.modules];
  while (queue.length > 0) {
    const name = queue.shift() ?? '';
    if (seen.has(name)) continue;
    seen.add(name);
    const found = findModule(dirs, name);
    if (!found) {
      out[name] = 'unresolved';
      continue;
    }
    queue.push(...manifestDepends(await readFile(found.manifest, 'utf8')));
    await hashTree(found.dir, name, out);
  }
  return out;
}
