import {describe, expect, it} from 'vitest';
import {compareVersions, majorOf, migrationsToRun, validateTargetVersion} from '../../../src/core/upgrade/odoo-version.js';
import {UsageError} from '../../../src/core/errors.js';

describe('odoo versions', () => {
  it.each([
    ['17.0.1.10', '17.0.1.9', 1],
    ['17.0.1.2', '17.0.1.2', 0],
    ['17.0.1', '17.0.1.0', -1],
    ['16.0.9.9', '17.0.1.0', -1],
    ['18.0.1.0', '17.0.2.0', 1],
  ])('compares %s with %s', (a, b, want) => {
    expect(Math.sign(compareVersions(a, b))).toBe(want);
  });

  it('reads the major number', () => {
    expect(majorOf('17.0')).toBe(17);
    expect(majorOf('18.0.1.3')).toBe(18);
    expect(majorOf('saas')).toBeUndefined();
  });

  it('validates --to-version: known series, never lower than the current', () => {
    expect(validateTargetVersion('18.0', '17.0')).toBe('18.0');
    expect(validateTargetVersion(' 17.0 ', '17.0')).toBe('17.0');
    expect(() => validateTargetVersion('16.0', '17.0')).toThrow(/lower than the current Odoo version 17.0/);
    expect(() => validateTargetVersion('18', '17.0')).toThrow(UsageError);
    expect(() => validateTargetVersion('15.0', '14.0')).toThrow(/not a known Odoo series/);
    expect(() => validateTargetVersion('saas~17.2', '17.0')).toThrow(UsageError);
  });

  it('orders migration folders like Odoo: installed < version <= target, adapted to the series, 0.0.0 first', () => {
    const folders = ['1.2', '18.0.1.1', '0.0.0', 'tests', '1.0', '2.0', '18.0.1.10', '18.0.1.9'];
    expect(migrationsToRun(folders, '18.0.1.0', '18.0.1.10', '18.0')).toEqual(['0.0.0', '18.0.1.1', '1.2', '18.0.1.9', '18.0.1.10']);
    expect(migrationsToRun(folders, '18.0.1.2', '18.0.1.2', '18.0')).toEqual(['0.0.0']);
    // A module not installed before runs none.
    expect(migrationsToRun(folders, null, '18.0.2.0', '18.0')).toEqual([]);
    // From the previous series: every folder of the new one up to the target.
    expect(migrationsToRun(['1.1', '17.0.3.0'], '17.0.3.0', '18.0.1.1', '18.0')).toEqual(['1.1']);
  });
});
