import {describe, expect, it} from 'vitest';
import {configErrorMessage} from './fixtures.js';
import {dateTag, parseImageReference, releaseTags} from '../../../src/core/build/image-tags.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  it.each<[string, object]>([
    ['odoo', {name: 'odoo', path: 'odoo'}],
    ['odoo:17.0', {name: 'odoo', path: 'odoo', tag: '17.0'}],
    ['library/odoo:17', {name: 'library/odoo', path: 'library/odoo', tag: '17'}],
    ['localhost/odoo-sh/acme', {name: 'localhost/odoo-sh/acme', domain: 'localhost', path: 'odoo-sh/acme'}],
    ['localhost:5000/acme:v1', {name: 'localhost:5000/acme', domain: 'localhost:5000', path: 'acme', tag: 'v1'}],
    ['Registry.Example.com/team/odoo__x.y-z', {name: 'Registry.Example.com/team/odoo__x.y-z', domain: 'Registry.Example.com', path: 'team/odoo__x.y-z'}],
    [`odoo:17.0@${DIGEST}`, {name: 'odoo', path: 'odoo', tag: '17.0', digest: DIGEST}],
    [`[::1]:5000/odoo@${DIGEST}`, {name: '[::1]:5000/odoo', domain: '[::1]:5000', path: 'odoo', digest: DIGEST}],
  ])('parses %s', (reference, expected) => {
    expect(parseImageReference(reference)).toEqual(expected);
  });

  it.each<[string, string]>([
    ['', 'it is empty'],
    [':17', 'the name is empty'],
    ['Odoo', 'path component "Odoo" must be lowercase letters and digits separated by ".", "_", "__" or "-" (repository names must be lowercase)'],
    ['odoo/-x', 'path component "-x" must be lowercase letters and digits separated by ".", "_", "__" or "-"'],
    ['odoo//x', 'path component "" must be lowercase letters and digits separated by ".", "_", "__" or "-"'],
    ['odoo___x', 'path component "odoo___x" must be lowercase letters and digits separated by ".", "_", "__" or "-"'],
    ['odoo:-x', 'tag "-x" must be 1-128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"'],
    [`odoo:${'t'.repeat(129)}`, `tag "${'t'.repeat(129)}" must be 1-128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"`],
    ['odoo:', 'tag "" must be 1-128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"'],
    ['odoo@sha256:abc', 'digest "sha256:abc" must be ALGORITHM:HEX (sha256: and 64 lowercase hex digits)'],
    [`odoo@sha256:${'A'.repeat(64)}`, `digest "sha256:${'A'.repeat(64)}" must be ALGORITHM:HEX (sha256: and 64 lowercase hex digits)`],
    ['bad_host.com/odoo', 'domain "bad_host.com" is not a host name with an optional :port'],
    [`${'a'.repeat(256)}`, 'the name is longer than 255 characters'],
  ])('refuses %j naming the bad part', (reference, why) => {
    expect(configErrorMessage(() => parseImageReference(reference))).toBe(`invalid image reference ${JSON.stringify(reference)}: ${why}`);
  });
});

describe('releaseTags', () => {
  const now = new Date('2026-03-04T05:06:07.890Z');

  it.each<[string, boolean | undefined, string[]]>([
    ['without latest', undefined, ['0123456789ab', '20260304-050607']],
    ['with latest', true, ['0123456789ab', '20260304-050607', 'latest']],
  ])('tags %s', (_what, latest, tags) => {
    expect(releaseTags({repository: 'localhost/acme', commit: SHA.toUpperCase(), now, latest})).toEqual({
      tags,
      references: tags.map((t) => `localhost/acme:${t}`),
    });
  });

  it('formats the date in UTC', () => {
    expect(dateTag(new Date('2026-12-31T23:59:59+02:00'))).toBe('20261231-215959');
  });

  it.each<[string, object, string]>([
    ['a repository with a tag', {repository: 'acme:1'}, 'image repository "acme:1" must not carry a tag or digest: tags are chosen per release'],
    ['a bad commit', {commit: 'main'}, 'release commit "main" is not a commit sha (12 to 40 hex digits)'],
    ['a bad repository', {repository: 'ACME'}, 'invalid image reference "ACME": path component "ACME" must be lowercase letters and digits separated by ".", "_", "__" or "-" (repository names must be lowercase)'],
  ])('refuses %s', (_what, change, message) => {
    expect(configErrorMessage(() => releaseTags({repository: 'acme', commit: SHA, now, ...change}))).toBe(message);
  });
});
