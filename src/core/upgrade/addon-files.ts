/** Reads the source files of custom addons for the removed-API scan (Python, XML and JS files of each module folder). */
import {readdir, readFile, stat} from 'node:fs/promises';
import {join, relative} from 'node:path';
import type {SourceFile} from './api-scan.js';

const SKIP = new Set(['__pycache__', '.git', 'node_modules', 'static/lib']);
const EXTENSIONS = /\.(py|xml|js)$/i;
/** Files larger than this are not scanned (generated or vendored code). */
const MAX_BYTES = 2 * 1024 * 1024;

async function walk(root: string, dir: string, out: SourceFile[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, {withFileTypes: true});
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, e.name);
    const rel = relative(root, path);
    if (SKIP.has(e.name) || SKIP.has(rel)) continue;
    if (e.isDirectory()) await walk(root, path, out);
    else if (e.isFile() && EXTENSIONS.test(e.name) && (await stat(path)).size <= MAX_BYTES) {
      out.push({path: rel, text: await readFile(path, 'utf8')});
    }
  }
}

/** Every scanned file of the modules (folders with a __manifest__.py) in these addons paths, paths relative to their addons folder. */
export async function readAddonSources(addonsPaths: readonly string[]): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  for (const root of addonsPaths) {
    let modules;
    try {
      modules = await readdir(root, {withFileTypes: true});
    } catch {
      continue;
    }
    for (const m of modules.filter((d) => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const manifest = await stat(join(root, m.name, '__manifest__.py')).catch(() => undefined);
      if (manifest?.isFile()) await walk(root, join(root, m.name), out);
    }
  }
  return out;
}
