import {describe, expect, it} from 'vitest';
import {ConfigError, NotImplementedError} from '../../../src/core/errors.js';
import {odooCodeFromConfig} from '../../../src/core/odoo/odoo-code.js';

describe('odooCodeFromConfig', () => {
  it('takes the version, bin, image and path addons', () => {
    expect(odooCodeFromConfig({version: '17.0', bin: '/o/odoo-bin', image: 'odoo:17.0', addons: [{path: '/a'}, {path: '/b'}]})).toEqual({
      version: '17.0',
      bin: '/o/odoo-bin',
      image: 'odoo:17.0',
      addonsPaths: ['/a', '/b'],
    });
  });

  it('refuses git addons (not checked out yet) and a missing bin when required', () => {
    expect(() => odooCodeFromConfig({version: '17.0', addons: [{git: 'https://x/y.git', commit: 'a'.repeat(40)}]})).toThrow(NotImplementedError);
    expect(() => odooCodeFromConfig({version: '17.0', addons: []}, {requireBin: true})).toThrow(ConfigError);
  });
});
