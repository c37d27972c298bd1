/**
 * Cache keys and normalized file lists of image layers. Pure: the caller hashes the files, this
 * only validates, normalizes and combines.
 *
 * - `canonicalJson` writes object keys sorted (code-unit order), drops `undefined` members and
 *   refuses values JSON cannot carry exactly (NaN, functions...), so equal data gives equal text.
 * - A layer key is sha256 over the canonical JSON of {format, kind, parent key, inputs}: equal
 *   keys mean equal inputs AND equal parents all the way down to the base image.
 * - File modes are normalized the way git stores them: 0644, or 0755 when any execute bit is set
 *   (so a umask or a checkout on another machine does not change keys); mtimes are one fixed value
 *   (SOURCE_DATE_EPOCH, default 0); owner 0:0. File lists are sorted by path (code-unit order).
 */
import {createHash} from 'node:crypto';
import {ConfigError, InternalError} from '../errors.js';

/** Bump when the meaning of a key changes: every cached layer is rebuilt once. */
export const LAYER_KEY_FORMAT = 'odoo-sh-next/layer-key/v1';

const FILE_TYPE_MASK = 0o170000;
const REGULAR_FILE = 0o100000;

export interface SourceFile {
  /** Path relative to the source root, `/`-separated. */
  readonly path: string;
  /** sha256 of the content, 64 hex digits. */
  readonly sha256: string;
  /** Permission bits (0o644) or a full st_mode / git mode (0o100755). */
  readonly mode: number;
}

export type LayerFile = {
  /** Absolute path inside the image. */
  readonly path: string;
  readonly sha256: string;
  /** 0o644 or 0o755. */
  readonly mode: number;
  /** Seconds since the epoch: always the build's fixed SOURCE_DATE_EPOCH. */
  readonly mtime: number;
  readonly uid: 0;
  readonly gid: 0;
};

export type Json = null | boolean | number | string | readonly Json[] | {readonly [key: string]: Json | undefined};

/** JSON with sorted object keys; undefined members are left out. */
export function canonicalJson(value: Json | undefined): string {
  if (value === undefined) throw new InternalError('canonicalJson: undefined is not JSON');
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InternalError(`canonicalJson: ${value} is not JSON`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item: Json) => canonicalJson(item)).join(',')}]`;
  if (typeof value !== 'object') throw new InternalError(`canonicalJson: ${typeof value} is not JSON`);
  const obj = value as {readonly [key: string]: Json | undefined};
  const members = Object.keys(obj)
    .filter((key) => obj[key] !== undefined)
    .sort(compareCodeUnits)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(obj[key])}`);
  return `{${members.join(',')}}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The cache key of a layer: 64 hex digits. `parentKey` is null for the base layer only. */
export function layerKey(kind: string, inputs: Json, parentKey: string | null): string {
  return sha256Hex(canonicalJson({format: LAYER_KEY_FORMAT, kind, parent: parentKey, inputs}));
}

/** Plain code-unit order (not locale order), so sorting is the same on every machine. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** 0o755 when any execute bit is set, else 0o644. Refuses anything but a regular file. */
export function normalizeFileMode(mode: number, where: string): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o177777) {
    throw new ConfigError(`${where}: file mode ${String(mode)} is not a valid mode`);
  }
  const type = mode & FILE_TYPE_MASK;
  if (type !== 0 && type !== REGULAR_FILE) {
    throw new ConfigError(`${where}: not a regular file (mode ${mode.toString(8)}): symlinks and special files are not copied into images`, {
      actions: ['replace the symlink with the file itself, or remove it from the addons folder'],
    });
  }
  return (mode & 0o111) !== 0 ? 0o755 : 0o644;
}

/** The problem with a relative source path, or undefined. */
function relativePathProblem(path: string): string | undefined {
  if (path.length === 0) return 'is empty';
  if (path.startsWith('/')) return 'is absolute';
  if (path.includes('\\')) return 'contains "\\" (use "/")';
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'contains a control character';
  for (const part of path.split('/')) {
    if (part === '' || part === '.' || part === '..') return `has an empty, "." or ".." component`;
  }
  return undefined;
}

/**
 * The files of a source placed under `destDir`, validated, normalized and sorted by path.
 * `where` names the source in errors.
 */
export function layerFiles(files: readonly SourceFile[], destDir: string, mtime: number, where: string): LayerFile[] {
  const seen = new Set<string>();
  const out: LayerFile[] = [];
  for (const file of files) {
    const problem = relativePathProblem(file.path);
    if (problem !== undefined) throw new ConfigError(`${where}: file path ${JSON.stringify(file.path)} ${problem}`);
    if (seen.has(file.path)) throw new ConfigError(`${where}: file ${JSON.stringify(file.path)} is listed twice`);
    seen.add(file.path);
    if (!/^[0-9a-f]{64}$/.test(file.sha256)) {
      throw new ConfigError(`${where}: file ${JSON.stringify(file.path)} has no valid sha256 (64 lowercase hex digits)`);
    }
    const mode = normalizeFileMode(file.mode, `${where}: ${file.path}`);
    out.push({path: `${destDir}/${file.path}`, sha256: file.sha256, mode, mtime, uid: 0, gid: 0});
  }
  return out.sort((a, b) => compareCodeUnits(a.path, b.path));
}
