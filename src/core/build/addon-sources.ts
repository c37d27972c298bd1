/**
 * Addon sources of an image build and the Python requirements their addons declare. Pure: the
 * caller lists and hashes the files (or checks the repository out), this validates and parses.
 *
 * - A source is a local folder (`path`, relative to the project root so keys do not depend on
 *   where the checkout lives) or a git repository pinned to a full 40-hex commit (a branch or a
 *   short sha could move under the cache key: refused).
 * - Each source is copied to its own folder in the image, named after the source's identity
 *   (folder, or URL + subdir, without the commit), so bumping a commit keeps `addons_path`.
 * - Credentials in git URLs (`https://user:token@host/...`) never reach keys or messages.
 */
import {ConfigError} from '../errors.js';
import {sha256Hex, type SourceFile} from './layer-key.js';

/** Where addon sources go inside the image. */
export const IMAGE_ADDONS_ROOT = '/opt/odoo-sh/addons';

export type BuildSource =
  | {readonly kind: 'path'; readonly path: string; readonly files: readonly SourceFile[]}
  | {
      readonly kind: 'git';
      readonly url: string;
      readonly commit: string;
      readonly subdir?: string | undefined;
      /** The files of the checkout (under subdir), when the caller listed them. */
      readonly files?: readonly SourceFile[] | undefined;
    };

/** One PEP 508 requirement, normalized. */
export interface Requirement {
  /** PEP 503 normalized name: lowercase, runs of `-_.` replaced by `-`. */
  readonly name: string;
  readonly extras: readonly string[];
  /** Version clauses without spaces, sorted (`>=2.0`, `==2.31`), or one `@ URL`. */
  readonly specifiers: readonly string[];
  readonly marker?: string | undefined;
}

/** A git URL without its user:password part. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

function normalizePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '').replace(/^(\.\/)+/, '');
  return trimmed === '' ? '.' : trimmed;
}

/** How messages name a source: `./addons`, `https://github.com/x/y@abc1234 (subdir z)`. */
export function sourceLabel(source: BuildSource): string {
  if (source.kind === 'path') return source.path;
  const base = `${redactUrl(source.url)}@${source.commit.slice(0, 7)}`;
  return source.subdir ? `${base} (subdir ${source.subdir})` : base;
}

function sourceIdentity(source: BuildSource): string {
  return source.kind === 'path'
    ? `path:${normalizePath(source.path)}`
    : `git:${redactUrl(source.url)}#${source.subdir === undefined ? '' : normalizePath(source.subdir)}`;
}

/** The folder of a source inside the image (an `addons_path` entry). */
export function addonsDirFor(source: BuildSource): string {
  return `${IMAGE_ADDONS_ROOT}/${source.kind}-${sha256Hex(sourceIdentity(source)).slice(0, 12)}`;
}

/** Refuses unpinned git sources, bad subdirs and sources listed twice. */
export function validateSources(sources: readonly BuildSource[]): void {
  const seen = new Map<string, string>();
  for (const source of sources) {
    const label = sourceLabel(source);
    if (source.kind === 'path') {
      if (source.path.trim() === '') throw new ConfigError('an addons source has an empty path');
    } else {
      if (!/^[0-9a-f]{40}$/.test(source.commit)) {
        throw new ConfigError(
          `addons source ${redactUrl(source.url)} is not pinned to a commit (${JSON.stringify(source.commit)}): give the full 40-character lowercase sha`,
          {actions: [`run \`git ls-remote ${redactUrl(source.url)}\` and set commit: to the full sha`]},
        );
      }
      if (source.subdir !== undefined && (source.subdir.startsWith('/') || source.subdir.split('/').includes('..'))) {
        throw new ConfigError(`addons source ${label}: subdir must be a relative folder inside the repository`);
      }
    }
    const identity = sourceIdentity(source);
    const other = seen.get(identity);
    if (other !== undefined) throw new ConfigError(`addons source ${label} is listed twice (also as ${other}): keep one`);
    seen.set(identity, label);
  }
}

const NAME = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*)$/;
const CLAUSE = /^(~=|===|==|!=|<=|>=|<|>)([A-Za-z0-9.*+!_-]+)$/;

export function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Parses one requirement (`requests[socks]>=2.0,<3; python_version>"3.8"`). `where` names it in errors. */
export function parseRequirement(text: string, where: string): Requirement {
  const bad = (why: string) =>
    new ConfigError(`${where}: ${JSON.stringify(text)} is not a Python requirement (${why})`, {
      actions: ['write requirements as NAME[extras] SPECIFIERS [; MARKER], e.g. requests>=2.31'],
    });
  const match = NAME.exec(text.trim());
  if (!match) throw bad('no package name');
  const [, rawName = '', rawExtras, rest = ''] = match;
  const semi = rest.startsWith('@') ? rest.indexOf(' ;') : rest.indexOf(';');
  const spec = (semi < 0 ? rest : rest.slice(0, semi)).trim();
  const marker = semi < 0 ? undefined : rest.slice(semi).replace(/^\s*;/, '').trim().replace(/\s+/g, ' ');
  if (marker === '') throw bad('empty marker after ";"');
  const extras = rawExtras === undefined ? [] : [...new Set(rawExtras.split(',').map((e) => normalizePackageName(e.trim())).filter((e) => e !== ''))].sort();
  let specifiers: string[];
  if (spec.startsWith('@')) {
    const url = spec.slice(1).trim();
    if (url === '' || /\s/.test(url)) throw bad('bad URL after "@"');
    specifiers = [`@ ${url}`];
  } else {
    const inner = spec.startsWith('(') && spec.endsWith(')') ? spec.slice(1, -1) : spec;
    specifiers = inner.trim() === '' ? [] : inner.split(',').map((clause) => clause.replace(/\s+/g, ''));
    for (const clause of specifiers) if (!CLAUSE.test(clause)) throw bad(`bad version clause ${JSON.stringify(clause)}`);
    specifiers = [...new Set(specifiers)].sort();
  }
  return {name: normalizePackageName(rawName), extras, specifiers, ...(marker === undefined ? {} : {marker})};
}

/**
 * Parses a requirements.txt: comments, blank lines and `\` continuations are handled; pip
 * options (`-r`, `-e`, `--index-url`...) are refused, since they make the layer depend on
 * files or servers outside its key.
 */
export function parseRequirementsTxt(text: string, where: string): Requirement[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: Requirement[] = [];
  for (let index = 0; index < lines.length; index++) {
    const at = `${where} line ${index + 1}`;
    let raw = lines[index] ?? '';
    while (raw.endsWith('\\') && index + 1 < lines.length) raw = `${raw.slice(0, -1)} ${lines[++index]}`;
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('-')) {
      throw new ConfigError(`${at}: pip options (${JSON.stringify(line.split(/\s/)[0])}) are not supported in addon requirements`, {
        actions: ['list the packages themselves in the requirements.txt'],
      });
    }
    out.push(parseRequirement(line, at));
  }
  return out;
}
