import {describe, expect, it} from 'vitest';
import {cronError} from '../../../src/core/config/cron.js';
import {didYouMean, editDistance} from '../../../src/core/config/did-you-mean.js';
import {parseDuration} from '../../../src/core/config/duration.js';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['72h', 259_200_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1s', 1000],
  ])('%s -> %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '0s', '-1h', '1.5h', '10', 'h', '10x', ' 10s', '10s ', '10 s', '01h', '1H', '99999999999999999w'])(
    'rejects %j',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );
});

describe('didYouMean', () => {
  it('computes edit distances', () => {
    expect(editDistance('retension', 'retention')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it.each([
    ['retension', ['schedule', 'retention', 'manualPerDay', 'storage'], 'retention'],
    ['projet', ['project', 'odoo', 'provider'], 'project'],
    ['prod', ['production', 'staging', 'preview', 'dev'], 'production'],
    ['Version', ['version', 'bin'], 'version'],
    ['zzzzzz', ['project', 'odoo'], undefined],
  ])('%s -> %s', (input, candidates, expected) => {
    expect(didYouMean(input, candidates)).toBe(expected);
  });
});

describe('cronError', () => {
  it.each(['0 3 * * *', '*/15 * * * *', '0 0-23/2 * * 1-5', '5,10,15 1 1 1 0', '0 0 31 12 7', '10/5 * * * *'])('accepts %j', (expr) => {
    expect(cronError(expr)).toBeUndefined();
  });

  it.each([
    ['0 3 * *', /5 fields/],
    ['0 3 * * * *', /5 fields/],
    ['', /5 fields/],
    ['60 * * * *', /minute field "60": 60 is outside 0-59/],
    ['0 24 * * *', /hour field/],
    ['0 0 0 * *', /day of month/],
    ['0 0 * 13 *', /month field/],
    ['0 0 * * 8', /day of week/],
    ['0 0 * JAN *', /not \*, a number/],
    ['*/0 * * * *', /step/],
    ['5-1 * * * *', /backwards/],
    ['@daily', /5 fields/],
  ])('rejects %j', (expr, message) => {
    expect(cronError(expr)).toMatch(message);
  });
});
