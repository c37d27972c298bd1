/**
 * Provider registry: name → factory. Factories load their module lazily (dynamic import), so a
 * command that never touches a provider does not pay for its code at start-up.
 */
import {NotImplementedError, UsageError} from '../core/errors.js';
import type {Provider, ProviderContext, ProviderName} from './provider.js';

export type ProviderFactory = (ctx: ProviderContext) => Promise<Provider>;

const notYet = (name: ProviderName): ProviderFactory => () =>
  Promise.reject(
    new NotImplementedError(`provider "${name}" is not built yet`, {
      actions: ['use provider.name: local or docker-local in odoo-sh-next.config.yaml for now'],
      data: {provider: name},
    }),
  );

const FACTORIES: Readonly<Record<ProviderName, ProviderFactory>> = {
  local: async (ctx) => {
    const {LocalProvider} = await import('./local/local-provider.js');
    return new LocalProvider(ctx);
  },
  'docker-local': async (ctx) => {
    const {DockerProvider} = await import('./docker/docker-provider.js');
    return new DockerProvider(ctx);
  },
  'ssh-host': notYet('ssh-host'),
  k8s: notYet('k8s'),
};

/** The names the registry knows (including providers not built yet). */
export const PROVIDER_NAMES: readonly ProviderName[] = Object.freeze(Object.keys(FACTORIES) as ProviderName[]);

function isProviderName(name: string): name is ProviderName {
  return Object.hasOwn(FACTORIES, name);
}

/**
 * Creates the provider called `name`. Unknown names are a UsageError listing the known ones;
 * known providers that are not built yet throw NotImplementedError.
 */
export async function createProvider(name: string, ctx: ProviderContext): Promise<Provider> {
  if (!isProviderName(name)) {
    throw new UsageError(`unknown provider "${name}"; known providers: ${PROVIDER_NAMES.join(', ')}`, {
      actions: [`set provider.name to one of: ${PROVIDER_NAMES.join(', ')}`],
      data: {provider: name, known: [...PROVIDER_NAMES]},
    });
  }
  return FACTORIES[name](ctx);
}
