/**
 * SQL building blocks of masking. Pure (text in, text out).
 *
 * Determinism: every generated value is a function of (salt, original value) only, through
 * HMAC-SHA256 computed by PostgreSQL's built-in sha256() (PostgreSQL 11+, no pgcrypto): the key
 * pads K⊕ipad / K⊕opad are computed here from the salt and embedded in a session-local helper,
 * pg_temp.osn_hmac(text), so the printed plan never contains the salt. The same original gives the
 * same masked value in every column and every database masked with the same salt (joins, duplicates
 * and copies stay consistent); another salt gives other values.
 *
 * The fake generators index small word lists with bytes of that hash. They keep NULL and '' as they
 * are and never return their input (a generated value equal to the original gets 4 more hex digits),
 * so the scanner's "unchanged value" check cannot trip on a coincidence. All helpers are LANGUAGE sql
 * STABLE single expressions, which PostgreSQL inlines into the UPDATE (no function call per row).
 */
import {createHash} from 'node:crypto';
import type {Secret} from '../secret.js';

/** "name" with embedded quotes doubled. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
/** 'text' for standard_conforming_strings = on (set by the session preamble). */
export const quoteLiteral = (value: string): string => `'${value.replace(/'/g, "''")}'`;
export const qualified = (table: string): string => `public.${quoteIdent(table)}`;

const FIRST_NAMES = [
  'Alex', 'Sam', 'Robin', 'Jordan', 'Taylor', 'Morgan', 'Casey', 'Jamie', 'Riley', 'Avery', 'Quinn', 'Charlie', 'Dana', 'Eli',
  'Frankie', 'Gale', 'Harper', 'Indy', 'Jesse', 'Kai', 'Lee', 'Max', 'Noa', 'Oakley', 'Parker', 'Reese', 'Sage', 'Toni',
  'Uma', 'Val', 'Wren', 'Yael', 'Ada', 'Bela', 'Cleo', 'Dario', 'Elin', 'Fidel', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Kira',
  'Lars', 'Mila', 'Nils', 'Olga', 'Pia', 'Rafa', 'Sven', 'Tess', 'Ugo', 'Vera', 'Wim', 'Xena', 'Yuri', 'Zoe', 'Anouk',
  'Bram', 'Chloe', 'Diego', 'Emma', 'Finn', 'Gaia',
];
const LAST_NAMES = [
  'Abbott', 'Baker', 'Carver', 'Dalton', 'Ellis', 'Fisher', 'Garner', 'Hale', 'Irwin', 'Jarvis', 'Keller', 'Lowell', 'Mercer',
  'Nolan', 'Oakes', 'Porter', 'Quill', 'Rowe', 'Sutton', 'Tanner', 'Upton', 'Vance', 'Walsh', 'Yates', 'Zeller', 'Archer',
  'Brooks', 'Conway', 'Drake', 'Easton', 'Finch', 'Grove', 'Hayes', 'Ingram', 'Joyce', 'Kemp', 'Lang', 'Marsh', 'North',
  'Olsen', 'Pike', 'Reed', 'Shaw', 'Thorne', 'Underwood', 'Voss', 'Webb', 'Young', 'Zimmer', 'Ames', 'Blair', 'Crane',
  'Dunn', 'Eaton', 'Frost', 'Gill', 'Holt', 'Ives', 'Knox', 'Lake', 'Moss', 'Nash', 'Park', 'Rhodes',
];
const STREETS = [
  'Maple', 'Oak', 'Cedar', 'Pine', 'Elm', 'Willow', 'Birch', 'Aspen', 'Chestnut', 'Hazel', 'Juniper', 'Laurel', 'Linden',
  'Magnolia', 'Poplar', 'Rowan', 'Spruce', 'Sycamore', 'Alder', 'Beech', 'Cypress', 'Hawthorn', 'Holly', 'Ivy', 'Lilac',
  'Myrtle', 'Olive', 'Sequoia', 'Tamarind', 'Walnut', 'Yew', 'Acacia',
];
const STREET_KINDS = ['Street', 'Avenue', 'Road', 'Lane', 'Way', 'Drive', 'Court', 'Place'];

/** The scanner's phone pattern rejects this prefix: fake phones use the unassigned country code +999. */
export const FAKE_PHONE_PREFIX = '+999';
/** A 1x1 PNG (placeholder for replaced images). */
export const PLACEHOLDER_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
export const PLACEHOLDER_TEXT = Buffer.from('This file was replaced by data masking.\n', 'utf8');
export const sha1Hex = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
export const byteaLiteral = (b: Buffer): string => `'\\x${b.toString('hex')}'::bytea`;

const array = (words: readonly string[]) => `(ARRAY[${words.map(quoteLiteral).join(',')}]::text[])`;
const lowerCase = (words: readonly string[]) => words.map((w) => w.toLowerCase());
/** 1-based index into a list of n words from byte i of h. */
const pick = (words: readonly string[], byte: number) => `${array(words)}[1 + get_byte(h, ${byte}) % ${words.length}]`;
/** An unsigned integer from bytes [from, from+count) of h. */
const uint = (from: number, count: number) =>
  Array.from({length: count}, (_, k) => `get_byte(h, ${from + k})::bigint * ${2 ** (8 * (count - 1 - k))}`).join(' + ');
const hex = (from: number, length: number) => `substr(encode(h, 'hex'), ${from}, ${length})`;

/** Digits from hex digits [from, from+length) of h (a-f read as 0-5). */
const digits = (from: number, length: number) => `translate(${hex(from, length)}, 'abcdef', '012345')`;

/** Keeps NULL and '', never returns v itself (gen is evaluated once unless it equals v). */
const guarded = (gen: string) =>
  `CASE WHEN v IS NULL OR v = '' THEN v ELSE coalesce(nullif(${gen}, v), (${gen}) || ' ' || ${hex(61, 4)}) END`;

const fn = (name: string, args: string, returns: string, body: string) =>
  `CREATE OR REPLACE FUNCTION pg_temp.${name}(${args}) RETURNS ${returns} LANGUAGE sql STABLE PARALLEL SAFE AS $osn$ SELECT ${body} $osn$`;

/** The HMAC key pads for a salt (RFC 2104 with SHA-256, block size 64). */
export function hmacPads(salt: Secret | string): {readonly inner: Buffer; readonly outer: Buffer} {
  let key = Buffer.from(typeof salt === 'string' ? salt : salt.reveal(), 'utf8');
  if (key.length > 64) key = createHash('sha256').update(key).digest();
  const padded = Buffer.alloc(64);
  key.copy(padded);
  return {inner: Buffer.from(padded.map((b) => b ^ 0x36)), outer: Buffer.from(padded.map((b) => b ^ 0x5c))};
}

/** Session preamble without the key (what a dry run prints). */
export const HELPERS_DESCRIPTION = '-- session helpers: pg_temp.osn_hmac(text) = HMAC-SHA256(salt, value) (key not shown), pg_temp.osn_fake_*(value, hash), pg_temp.osn_keyed_hash, pg_temp.osn_partial';

/** The session-local helper functions; the only statement that carries the key. */
export function helperStatements(salt: Secret | string): string[] {
  const {inner, outer} = hmacPads(salt);
  // one hex encoding per value: the 8 digits, then a space inserted after the 4th
  const phone = `${quoteLiteral(`${FAKE_PHONE_PREFIX} `)} || overlay(${digits(5, 8)} placing ' ' from 5 for 0)`;
  const name = `${pick(FIRST_NAMES, 0)} || ' ' || ${pick(LAST_NAMES, 1)}`;
  const street = `(1 + (${uint(2, 2)}) % 9999)::text || ' ' || ${pick(STREETS, 0)} || ' ' || ${pick(STREET_KINDS, 1)}`;
  // two ASCII letters (code points, no regular expression per row)
  const letter = (e: string) => `(ascii(${e}) BETWEEN 65 AND 90 OR ascii(${e}) BETWEEN 97 AND 122)`;
  const vat = `CASE WHEN ${letter('v')} AND ${letter('substr(v, 2, 1)')} THEN upper(left(v, 2)) ELSE 'XX' END || ${digits(5, 10)}`;
  const email = `${pick(lowerCase(FIRST_NAMES), 0)} || '.' || ${pick(lowerCase(LAST_NAMES), 1)} || '.' || ${hex(17, 16)} || '@' || d`;
  return [
    'SET standard_conforming_strings = on',
    fn('osn_hmac', 'v text', 'bytea', `sha256(${byteaLiteral(outer)} || sha256(${byteaLiteral(inner)} || convert_to(v, 'UTF8')))`),
    fn('osn_fake_name', 'v text, h bytea', 'text', guarded(name)),
    fn('osn_fake_email', 'v text, h bytea, d text', 'text', guarded(email)),
    fn('osn_fake_phone', 'v text, h bytea', 'text', guarded(phone)),
    fn('osn_fake_street', 'v text, h bytea', 'text', guarded(street)),
    fn('osn_fake_vat', 'v text, h bytea', 'text', guarded(vat)),
    fn('osn_keyed_hash', 'v text, h bytea, n int, p text, s text', 'text', guarded(`p || substr(encode(h, 'hex'), 1, n) || s`)),
    fn('osn_partial', 'v text, kf int, kl int, m text', 'text',
      `CASE WHEN v IS NULL OR v = '' THEN v WHEN char_length(v) <= kf + kl THEN repeat(m, char_length(v)) ` +
      `ELSE left(v, kf) || repeat(m, char_length(v) - kf - kl) || right(v, kl) END`),
    'CREATE TEMP TABLE IF NOT EXISTS osn_freed_files (store_fname text)',
  ];
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * An e-mail address whose domain is not one of `masked` (nor a subdomain of one): a PostgreSQL
 * ARE, case-insensitive. "a@example.invalid." at the end of a sentence counts as masked;
 * "a@example.invalid.com" does not.
 */
export function emailLeakRegex(masked: readonly string[]): string {
  const domains = masked.map(escapeRegex).join('|');
  return `(?i)[a-z0-9._%+-]+@(?!(?:[a-z0-9-]+\\.)*(?:${domains})(?:\\.(?:[^a-z0-9-]|$)|[^a-z0-9.-]|$))[a-z0-9-]+(?:\\.[a-z0-9-]+)*\\.[a-z]{2,}`;
}

/**
 * A phone number, other than the fake ones (+999): international (+CC and at least three more
 * digit groups), North American ((NNN) NNN-NNNN with separators) or grouped national
 * (0N NN NN NN NN). Plain digit runs are not phones here (ids, amounts, references).
 */
export const PHONE_LEAK_REGEX =
  '(?<![0-9A-Za-z+])(?:\\+(?!999)[1-9][0-9]{0,2}(?:[ .\\/-]?\\(?[0-9]{1,4}\\)?){3,6}|\\(?[0-9]{3}\\)?[ .-][0-9]{3}[ .-][0-9]{4}|0[1-9](?:[ .][0-9]{2}){4})(?![0-9])';
