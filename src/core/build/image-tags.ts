/**
 * Image references and the tags of a release image. Pure; `now` is a parameter.
 *
 * References follow the OCI distribution grammar (distribution/reference, reference.go):
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] path-component ["/" path-component]*   (at most 255 characters)
 *   domain    := host [":" port]; the first component is a domain when it holds "." or ":" or
 *                is "localhost" (as docker decides it)
 *   path-component := [a-z0-9]+ ((?:[._]|__|[-]+) [a-z0-9]+)*
 *   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest    := algorithm ":" hex, algorithm := [A-Za-z][A-Za-z0-9]*([+._-][A-Za-z][A-Za-z0-9]*)*,
 *                sha256 needs exactly 64 lowercase hex digits, other algorithms at least 32.
 *
 * Release tags: `<short_sha>` (12 hex of the release commit), `<date>` (YYYYMMDD-HHMMSS, UTC)
 * and `latest` only when asked.
 */
import {ConfigError} from '../errors.js';

export interface ImageReference {
  /** The repository with its domain, e.g. `registry.example.com:5000/team/odoo`. */
  readonly name: string;
  readonly domain?: string | undefined;
  /** The repository path without the domain, e.g. `team/odoo`. */
  readonly path: string;
  readonly tag?: string | undefined;
  readonly digest?: string | undefined;
}

const MAX_NAME_LENGTH = 255;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[+._-][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

function invalid(reference: string, why: string): ConfigError {
  return new ConfigError(`invalid image reference ${JSON.stringify(reference)}: ${why}`, {
    actions: ['use NAME[:TAG][@DIGEST] with a lowercase name, e.g. registry.example.com/team/odoo:17.0'],
  });
}

/** Refuses a bad tag, naming it. */
export function validateTag(tag: string, reference = tag): void {
  if (!TAG.test(tag)) {
    throw invalid(reference, `tag ${JSON.stringify(tag)} must be 1-128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"`);
  }
}

/** Refuses a bad digest, naming it. */
export function validateDigest(digest: string, reference = digest): void {
  if (!DIGEST.test(digest) || (digest.startsWith('sha256:') && !/^sha256:[0-9a-f]{64}$/.test(digest))) {
    throw invalid(reference, `digest ${JSON.stringify(digest)} must be ALGORITHM:HEX (sha256: and 64 lowercase hex digits)`);
  }
}

/** Parses and validates `[domain/]path[:tag][@digest]`; errors name the bad part. */
export function parseImageReference(reference: string): ImageReference {
  if (reference === '') throw invalid(reference, 'it is empty');
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    validateDigest(digest, reference);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    validateTag(tag, reference);
  }
  const name = rest;
  if (name === '') throw invalid(reference, 'the name is empty');
  if (name.length > MAX_NAME_LENGTH) throw invalid(reference, `the name is longer than ${MAX_NAME_LENGTH} characters`);
  const parts = name.split('/');
  let domain: string | undefined;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    domain = first;
    parts.shift();
    if (!DOMAIN.test(domain)) throw invalid(reference, `domain ${JSON.stringify(domain)} is not a host name with an optional :port`);
  }
  for (const part of parts) {
    if (!PATH_COMPONENT.test(part)) {
      const hint = /[A-Z]/.test(part) ? ' (repository names must be lowercase)' : '';
      throw invalid(reference, `path component ${JSON.stringify(part)} must be lowercase letters and digits separated by ".", "_", "__" or "-"${hint}`);
    }
  }
  return {name, ...(domain === undefined ? {} : {domain}), path: parts.join('/'), ...(tag === undefined ? {} : {tag}), ...(digest === undefined ? {} : {digest})};
}

export interface ReleaseTagsInput {
  /** The image repository, without tag or digest (e.g. `odoo-sh/acme`). */
  readonly repository: string;
  /** The release commit: 40 hex digits (12 to 40 accepted). */
  readonly commit: string;
  readonly now: Date;
  readonly latest?: boolean | undefined;
}

export interface ReleaseTags {
  readonly tags: readonly string[];
  /** `repository:tag` for each tag, in the same order. */
  readonly references: readonly string[];
}

/** YYYYMMDD-HHMMSS in UTC. */
export function dateTag(now: Date): string {
  if (Number.isNaN(now.getTime())) throw new ConfigError('dateTag: invalid date');
  const iso = now.toISOString(); // 2026-11-21T14:49:00.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/** The tags of a release image: `<short_sha>`, `<date>` and, when asked, `latest`. */
export function releaseTags(input: ReleaseTagsInput): ReleaseTags {
  const ref = parseImageReference(input.repository);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new ConfigError(`image repository ${JSON.stringify(input.repository)} must not carry a tag or digest: tags are chosen per release`);
  }
  if (!/^[0-9a-fA-F]{12,40}$/.test(input.commit)) {
    throw new ConfigError(`release commit ${JSON.stringify(input.commit)} is not a commit sha (12 to 40 hex digits)`);
  }
  const tags = [input.commit.slice(0, 12).toLowerCase(), dateTag(input.now), ...(input.latest ? ['latest'] : [])];
  return {tags, references: tags.map((tag) => `${ref.name}:${tag}`)};
}
