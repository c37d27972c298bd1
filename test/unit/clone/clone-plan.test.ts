import {describe, expect, it} from 'vitest';
import {
  cloneDatabaseName, cloneDatabasePattern, cloneDatabasePrefix, dumpArgv, dumpRestoreMode, MAX_CLONE_DATABASE_NAME, planClone, requireCloneSource, restoreArgv,
} from '../../../src/core/clone/clone-plan.js';
import type {Environment} from '../../../src/core/environments/environment-record.js';
import {NotFoundError} from '../../../src/core/errors.js';
import {envNameForBranch} from '../../../src/core/env/env-name.js';
import {databaseName} from '../../../src/core/odoo/database-name.js';

describe('clone database names', () => {
  it('name the build: <project>_<env>__b<run id>, with the attempt from the second one on', () => {
    expect(cloneDatabaseName('shop', 'staging', '12')).toBe('shop_staging__b12');
    expect(cloneDatabaseName('my-shop', 'release-x-1a2b3c4d', '7', 1)).toBe('my_shop_release_x_1a2b3c4d__b7');
    expect(cloneDatabaseName('shop', 'staging', '12', 3)).toBe('shop_staging__b12_3');
  });

  it('stay within 62 bytes for the longest project, env and run id, with a fixed prefix per env', () => {
    const project = 'p'.repeat(40);
    const env = `${'e'.repeat(31)}-1a2b3c4d`;
    const prefix = cloneDatabasePrefix(project, env);
    expect(prefix).toMatch(/^p{26}__[0-9a-f]{8}$/);
    for (const id of ['1', '123456789', '9223372036854775807']) {
      const name = cloneDatabaseName(project, env, id, 999);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_CLONE_DATABASE_NAME);
      expect(name.startsWith(`${prefix}__b${id}`)).toBe(true);
      expect(name).toMatch(/^[a-z0-9_]+$/);
    }
  });

  it('never equal an environment database (databaseName) nor another env\'s build', () => {
    const envs = ['staging', 'staging-b12', 'release-x-1a2b3c4d', 'release-x-1a2b3c4d-b7', envNameForBranch('release/x')];
    const plain = new Set(envs.map((e) => databaseName('shop', e)));
    for (const e of envs) {
      const name = cloneDatabaseName('shop', e, '12');
      expect(plain.has(name)).toBe(false);
      for (const other of envs) expect(cloneDatabasePattern('shop', other).test(name)).toBe(other === e);
    }
    expect(cloneDatabasePattern('shop', 'staging').test('shop_staging')).toBe(false);
    expect(cloneDatabasePattern('shop', 'staging').test('shop_staging_b12__b3')).toBe(false);
    expect(cloneDatabasePattern('shop', 'staging').test('shop_staging__b3_2')).toBe(true);
  });

  it('refuse malformed run ids', () => {
    expect(() => cloneDatabaseName('shop', 'staging', '0')).toThrow(/run id/);
    expect(() => cloneDatabaseName('shop', 'staging', '1; drop')).toThrow(/run id/);
  });
});

describe('planClone', () => {
  it('copies by template only when nobody is connected to the source on the same server', () => {
    expect(planClone({sourceConnections: 0, sameServer: true}).strategy).toBe('template');
    expect(planClone({sourceConnections: 1, sameServer: true}).strategy).toBe('dump-restore');
    expect(planClone({sourceConnections: 0, sameServer: false}).strategy).toBe('dump-restore');
  });

  it('uses a backup younger than the configured age instead of dumping a busy source', () => {
    const hour = 3_600_000;
    expect(planClone({sourceConnections: 3, sameServer: true, backupAgeMs: hour, backupMaxAgeMs: 2 * hour}).strategy).toBe('backup');
    expect(planClone({sourceConnections: 3, sameServer: true, backupAgeMs: 3 * hour, backupMaxAgeMs: 2 * hour}).strategy).toBe('dump-restore');
    expect(planClone({sourceConnections: 3, sameServer: true, backupAgeMs: hour}).strategy).toBe('dump-restore');
    expect(planClone({sourceConnections: 0, sameServer: true, backupAgeMs: hour, backupMaxAgeMs: 2 * hour}).strategy).toBe('template');
  });

  it('rejects a nonsense connection count', () => {
    expect(() => planClone({sourceConnections: -1, sameServer: true})).toThrow();
  });
});

describe('dump and restore commands', () => {
  it('dump a directory with parallel jobs when the tools see our folder, else stream one archive', () => {
    const dir = dumpRestoreMode({toolsSeeScratch: true, cpus: 2});
    expect(dir).toEqual({kind: 'directory', jobs: 2});
    expect(dumpRestoreMode({toolsSeeScratch: true, cpus: 64})).toEqual({kind: 'directory', jobs: 4});
    expect(dumpRestoreMode({toolsSeeScratch: false, cpus: 2})).toEqual({kind: 'stream'});
    expect(dumpArgv(dir, 'shop_production', '/tmp/x/dump'))
      .toEqual(['--format=directory', '--jobs=2', '--file=/tmp/x/dump', '--compress=0', '--no-sync', '--dbname=shop_production']);
    expect(restoreArgv(dir, 'shop_staging__b1', {keepOwners: true, ownerRole: 'odoo', dir: '/tmp/x/dump'}))
      .toEqual(['--jobs=2', '--exit-on-error', '--dbname=shop_staging__b1', '/tmp/x/dump']);
    expect(dumpArgv({kind: 'stream'}, 'shop_production')).toEqual(['--format=custom', '--compress=0', '--no-sync', '--dbname=shop_production']);
    expect(restoreArgv({kind: 'stream'}, 'shop_staging__b1', {keepOwners: false, ownerRole: 'odoo'}))
      .toEqual(['--exit-on-error', '--dbname=shop_staging__b1', '--no-owner', '--role=odoo']);
  });
});

describe('requireCloneSource', () => {
  const env = (over: Partial<Environment>): Environment => ({
    id: '1', projectId: 'p', name: 'production', type: 'production', branch: 'main', status: 'active', url: null, currentRelease: null,
    databaseName: 'shop_production', ttlExpiresAt: null, settings: {}, createdAt: '', updatedAt: '', destroyedAt: null, ...over,
  });
  it('wants an active production with a database', () => {
    expect(requireCloneSource(env({}), 'production').databaseName).toBe('shop_production');
    expect(() => requireCloneSource(undefined, 'production')).toThrow(NotFoundError);
    expect(() => requireCloneSource(undefined, 'production')).toThrow(/bring production up first/);
    expect(() => requireCloneSource(env({type: 'staging'}), 'production')).toThrow(NotFoundError);
    expect(() => requireCloneSource(env({databaseName: null}), 'production')).toThrow(/bring production up first/);
    expect(() => requireCloneSource(env({status: 'failed'}), 'production')).toThrow(NotFoundError);
  });
});
