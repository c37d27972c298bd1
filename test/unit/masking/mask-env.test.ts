import {describe, expect, it} from 'vitest';
import {ConfigError, PolicyDeniedError} from '../../../src/core/errors.js';
import {MASK_RUN_TYPE, maskRunType, resolveMaskTarget} from '../../../src/core/masking/mask-env.js';

describe('resolveMaskTarget', () => {
  const base = {project: 'shop', cwd: '/srv/shop'};
  it('refuses production', () => {
    expect(() => resolveMaskTarget({...base, env: {name: 'production', type: 'production', databaseName: 'shop_production'}, rulesFlag: 'm.yaml'}))
      .toThrow(PolicyDeniedError);
  });
  it('needs a rules file from the flag or the configuration', () => {
    expect(() => resolveMaskTarget({...base, env: {name: 'staging-x', type: 'staging', databaseName: null}})).toThrow(ConfigError);
    expect(resolveMaskTarget({...base, env: {name: 'staging-x', type: 'staging', databaseName: null}, configRules: '/etc/rules.yaml'}))
      .toEqual({env: 'staging-x', database: 'shop_staging_x', rulesFile: '/etc/rules.yaml'});
    expect(resolveMaskTarget({...base, env: {name: 'dev-a', type: 'dev', databaseName: 'custom_db'}, rulesFlag: 'masking.yaml', configRules: '/etc/rules.yaml'}))
      .toEqual({env: 'dev-a', database: 'custom_db', rulesFile: '/srv/shop/masking.yaml'});
  });
  it('is a run type named db-mask', () => {
    const handler = maskRunType({project: 'shop', provider: async () => { throw new Error('unused'); }, environments: async () => { throw new Error('unused'); }, variables: {}});
    expect(handler.type).toBe(MASK_RUN_TYPE);
    expect(MASK_RUN_TYPE).toBe('db-mask');
  });
});
