import {describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {NotImplementedError, UsageError} from '../../../src/core/errors.js';
import {nullLogger} from '../../../src/core/logger.js';
import {PROVIDER_NAMES, createProvider} from '../../../src/providers/registry.js';

const ctx = {config: {project: 'shop', projectRoot: '/nonexistent/shop', postgres: {}}, clock: systemClock, logger: nullLogger};

describe('provider registry', () => {
  it('knows the four providers', () => {
    expect([...PROVIDER_NAMES].sort()).toEqual(['docker-local', 'k8s', 'local', 'ssh-host']);
  });

  it('rejects unknown names, listing the known ones', async () => {
    const err = await createProvider('dokcer', ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe('unknown provider "dokcer"; known providers: local, docker-local, ssh-host, k8s');
    await expect(createProvider('__proto__', ctx)).rejects.toBeInstanceOf(UsageError);
  });

  it.each(['ssh-host', 'k8s'])('refuses %s as not built yet', async (name) => {
    const err = await createProvider(name, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotImplementedError);
    expect((err as Error).message).toBe(`provider "${name}" is not built yet`);
  });

  it('creates the docker-local provider lazily, without talking to the engine', async () => {
    const provider = await createProvider('docker-local', ctx);
    expect(provider.name).toBe('docker-local');
    expect(provider.capabilities).toEqual({blueGreen: true, exec: true, router: true});
  });

  it('creates the local provider lazily, without touching the disk', async () => {
    const provider = await createProvider('local', ctx);
    expect(provider.name).toBe('local');
    expect(provider.capabilities).toEqual({blueGreen: false, exec: true, router: false});
  });
});
