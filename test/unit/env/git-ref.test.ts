import {describe, expect, it} from 'vitest';
import {UsageError} from '../../../src/core/errors.js';
import {
  MAX_BRANCH_NAME_BYTES,
  parsePushRef,
  quoteRef,
  validateBranchName,
  validateSha,
} from '../../../src/core/env/git-ref.js';

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('validateBranchName', () => {
  it.each([
    ['main', 'main'],
    ['feature/login', 'feature/login'],
    ['refs/heads/feature/x', 'feature/x'],
    ['refs/heads/main', 'main'],
    ['feat/$(touch${IFS}pwned)', 'feat/$(touch${IFS}pwned)'],
    ['feat/`id`|sh&&x>y<z', 'feat/`id`|sh&&x>y<z'],
    ['a;reboot', 'a;reboot'],
    ['f\u0435ature', 'f\u0435ature'], // Cyrillic е: git allows any non-ASCII
    ['a.b', 'a.b'],
    ['a@b', 'a@b'],
    ['a-', 'a-'],
    ['x/y.lockx', 'x/y.lockx'],
    ['a'.repeat(MAX_BRANCH_NAME_BYTES), 'a'.repeat(MAX_BRANCH_NAME_BYTES)],
    ['refs/foo', 'refs/foo'],
  ])('accepts %j', (input, expected) => {
    expect(validateBranchName(input)).toBe(expected);
  });

  it.each([
    ['', 'is empty'],
    ['refs/heads/', 'is empty'],
    ['a..b', 'contains ".."'],
    ['../x', 'contains ".."'],
    ['a.lock', 'ending with ".lock"'],
    ['x/a.lock/y', 'ending with ".lock"'],
    ['x//y', 'contains "//"'],
    ['/x', 'starts with "/"'],
    ['x/', 'ends with "/"'],
    ['x.', 'ends with "."'],
    ['.x', 'starting with "."'],
    ['a/.hidden', 'starting with "."'],
    ['@', 'is "@"'],
    ['foo@{1}', 'contains "@{"'],
    ['-rf', 'starts with "-"'],
    ['refs/heads/-rf', 'starts with "-"'],
    ['HEAD', 'is "HEAD"'],
    ['a b', 'contains a space'],
    ['feat/$(touch pwned)', 'contains a space'], // git refuses the space, not the $()
    ['a~1', 'contains "~"'],
    ['a^', 'contains "^"'],
    ['a:b', 'contains ":"'],
    ['a?', 'contains "?"'],
    ['a*', 'contains "*"'],
    ['a[b', 'contains "["'],
    ['a\\b', 'contains "\\"'],
    ['a\tb', 'control character (U+0009)'],
    ['a\nb', 'control character (U+000A)'],
    ['a\u0000b', 'control character (U+0000)'],
    ['a\u007fb', 'control character (U+007F)'],
    ['a\u001b[31mred', 'control character (U+001B)'],
    ['a\ud800b', 'unpaired surrogate'],
    ['a'.repeat(300), 'longer than 255 bytes'],
    ['\u00e9'.repeat(128), 'longer than 255 bytes'], // 256 bytes, 128 characters
  ])('rejects %j (%s)', (input, rule) => {
    const err = usageError(() => validateBranchName(input));
    expect(err.message).toContain(rule);
    expect(err.message.startsWith('invalid git branch ')).toBe(true);
    expect(err.data).toMatchObject({ref: input});
  });

  it('names the ref and the rule in the message', () => {
    expect(() => validateBranchName('a..b')).toThrow('invalid git branch "a..b": contains ".."');
  });

  it('escapes control and bidi characters in messages and shortens long names', () => {
    const err = usageError(() => validateBranchName('x\u001b]0;pwn\u0007 \u202e'));
    expect(err.message).not.toMatch(/[\u0000-\u001f\u202e]/);
    expect(err.message).toContain('\\u{202E}');
    const long = usageError(() => validateBranchName('b'.repeat(300)));
    expect(long.message.length).toBeLessThan(200);
    expect(long.message).toContain('(300 characters)');
  });
});

describe('quoteRef', () => {
  it('quotes plainly when harmless', () => {
    expect(quoteRef('feature/x')).toBe('"feature/x"');
  });
});

describe('validateSha', () => {
  it.each([
    ['abcdef0', 'abcdef0'],
    ['ABCDEF0123', 'abcdef0123'],
    ['0123456789abcdef0123456789abcdef01234567', '0123456789abcdef0123456789abcdef01234567'],
  ])('accepts %j', (input, expected) => {
    expect(validateSha(input)).toBe(expected);
  });

  it.each(['', 'abc', 'abcdef', 'g123456', '0123456789abcdef0123456789abcdef012345678', ' abcdef0', 'abcdef0\n', '$(id)'])(
    'rejects %j',
    (input) => {
      const err = usageError(() => validateSha(input));
      expect(err.message).toContain('invalid commit SHA');
    },
  );
});

describe('parsePushRef', () => {
  it.each([
    ['refs/heads/main', {kind: 'branch', name: 'main'}],
    ['refs/heads/feature/x', {kind: 'branch', name: 'feature/x'}],
    ['feature/x', {kind: 'branch', name: 'feature/x'}],
    ['main', {kind: 'branch', name: 'main'}],
    ['refs/tags/v1.2.3', {kind: 'tag', name: 'v1.2.3'}],
    ['refs/tags/release/2024', {kind: 'tag', name: 'release/2024'}],
    ['refs/pull/42/head', {kind: 'pr', number: 42}],
    ['refs/pull/7/merge', {kind: 'pr', number: 7}],
  ])('parses %j', (input, expected) => {
    expect(parsePushRef(input)).toEqual(expected);
  });

  it.each([
    ['', 'invalid git branch'],
    ['refs/heads/a..b', 'invalid git branch'],
    ['-rf', 'invalid git branch'],
    ['refs/tags/', 'invalid git tag'],
    ['refs/tags/v1..2', 'invalid git tag'],
    ['refs/tags/-x', 'invalid git tag'],
    ['refs/pull/0/head', 'invalid pull request ref'],
    ['refs/pull/01/head', 'invalid pull request ref'],
    ['refs/pull/x/head', 'invalid pull request ref'],
    ['refs/pull/42', 'invalid pull request ref'],
    ['refs/pull/42/head/x', 'invalid pull request ref'],
    ['refs/pull/99999999999999999/head', 'invalid pull request ref'],
    ['refs/remotes/origin/main', 'unsupported git ref'],
    ['refs/notes/x', 'unsupported git ref'],
  ])('rejects %j', (input, message) => {
    const err = usageError(() => parsePushRef(input));
    expect(err.message).toContain(message);
  });
});
