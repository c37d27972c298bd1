import {describe, expect, it} from 'vitest';
import {adaptVersion, parseInstalledRows, planModuleUpdate, updateArgs} from '../../../src/core/release/module-update-plan.js';
import {releaseId} from '../../../src/core/release/release-record.js';
import {manifestVersion} from '../../../src/core/release/release-artifact.js';

describe('module update plan', () => {
  const installed = [{name: 'base', latestVersion: '17.0.1.3'}, {name: 'shop', latestVersion: '17.0.1.0'}, {name: 'crm', latestVersion: '17.0.2.0'}];

  it('updates the installed modules whose manifest version moved, nothing else', () => {
    const plan = planModuleUpdate({odooVersion: '17.0', releaseModules: {shop: '1.1', crm: '17.0.2.0', extra: '1.0'}, installed});
    expect(plan.modules).toEqual(['shop']);
    expect(plan.changes).toEqual({shop: {from: '17.0.1.0', to: '17.0.1.1'}});
    expect(updateArgs(plan)).toEqual(['-u', 'shop', '--stop-after-init']);
  });

  it('no change → no update run; -u all only when asked', () => {
    expect(updateArgs(planModuleUpdate({odooVersion: '17.0', releaseModules: {shop: '1.0'}, installed}))).toBeUndefined();
    expect(planModuleUpdate({odooVersion: '17.0', releaseModules: {shop: '1.0'}, installed, allModules: true}).modules).toEqual(['all']);
  });

  it('adapts versions and parses psql rows and manifests', () => {
    expect(adaptVersion('1.2', '17.0')).toBe('17.0.1.2');
    expect(adaptVersion('17.0.1.2', '17.0')).toBe('17.0.1.2');
    expect(parseInstalledRows('base\t17.0.1.3\nshop\t\n')).toEqual([{name: 'base', latestVersion: '17.0.1.3'}, {name: 'shop', latestVersion: null}]);
    expect(manifestVersion("{'name': 'x', \"version\": '2.1'}")).toBe('2.1');
    expect(manifestVersion("{'name': 'x'}")).toBe('1.0');
  });

  it('release ids derive from the artifact', () => {
    const a = {commit: 'a'.repeat(40), addonsHash: 'h', odooVersion: '17.0', imageDigest: null};
    expect(releaseId(a)).toMatch(/^r-[0-9a-f]{12}$/);
    expect(releaseId(a)).toBe(releaseId({...a}));
    expect(releaseId(a)).not.toBe(releaseId({...a, addonsHash: 'h2'}));
  });
});
