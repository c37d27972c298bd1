/**
 * Computes a release artifact from the code on disk: the addons' files hashed (sha256 per file,
 * combined over sorted paths like the template key), each addon module's manifest version, the
 * commit (given, or the checkout's HEAD) and the Odoo version.
 */
import {createHash} from 'node:crypto';
import {readdir, readFile} from 'node:fs/promises';
import {join, relative} from 'node:path';
import {execa} from 'execa';
import type {ReleaseArtifact} from './release-record.js';

const SKIP = new Set(['__pycache__', '.git', 'node_modules']);

async function walk(root: string, dir: string, out: Record<string, string>): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, {withFileTypes: true});
  } catch {
    return;
  }
  for (const e of entries) {
    if (SKIP.has(e.name) || e.name.endsWith('.pyc')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) await walk(root, path, out);
    else if (e.isFile()) out[relative(root, path)] = createHash('sha256').update(await readFile(path)).digest('hex');
  }
}

/** The `'version': 'x.y'` of a manifest; '1.0' when absent (Odoo's default). */
export function manifestVersion(text: string): string {
  return /['"]version['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1] ?? '1.0';
}

export async function addonsArtifact(addonsPaths: readonly string[]): Promise<{addonsHash: string; modules: Record<string, string>}> {
  const files: Record<string, string> = {};
  const modules: Record<string, string> = {};
  for (const [i, root] of addonsPaths.entries()) {
    const own: Record<string, string> = {};
    await walk(root, root, own);
    for (const [path, hash] of Object.entries(own)) {
      files[`${i}/${path}`] = hash;
      const m = /^([^/]+)\/__manifest__\.py$/.exec(path);
      if (m && modules[m[1]!] === undefined) modules[m[1]!] = manifestVersion(await readFile(join(root, path), 'utf8'));
    }
  }
  const sorted = Object.keys(files).sort().map((p) => [p, files[p]]);
  const addonsHash = createHash('sha256').update(JSON.stringify(['odoo-sh-next/addons/v1', sorted]), 'utf8').digest('hex');
  return {addonsHash, modules};
}

export async function headCommit(cwd: string): Promise<string | null> {
  try {
    const {stdout} = await execa('git', ['rev-parse', 'HEAD'], {cwd, stdin: 'ignore'});
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

export async function computeArtifact(input: {
  readonly cwd: string; readonly addonsPaths: readonly string[]; readonly odooVersion: string; readonly sha?: string | undefined;
}): Promise<ReleaseArtifact> {
  const {addonsHash, modules} = await addonsArtifact(input.addonsPaths);
  return {commit: input.sha ?? (await headCommit(input.cwd)), addonsHash, odooVersion: input.odooVersion, modules, imageDigest: null};
}
