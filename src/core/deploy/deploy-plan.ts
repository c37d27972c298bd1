/**
 * Which deploy strategy a deploy uses, from what the provider can do, the environment type and
 * what was asked for (`--strategy` or configuration). Pure: no IO.
 */
import {UsageError} from '../errors.js';
import type {EnvironmentType, ProviderCapabilities, ProviderName} from '../../providers/provider.js';
import {STRATEGY_NAMES, type StrategyName} from './strategy.js';

export interface DeployPlanInput {
  readonly provider: {readonly name: ProviderName; readonly capabilities: Pick<ProviderCapabilities, 'blueGreen'>};
  readonly envType: EnvironmentType;
  /** The strategy asked for; undefined or 'auto' lets the plan choose. */
  readonly requested?: string | undefined;
}

export interface DeployPlan {
  readonly strategy: StrategyName;
  /** Why this strategy (shown in the deploy's events). */
  readonly reason: string;
}

/** Types whose downtime matters: they get blue/green whenever the provider can do it. */
const GAPLESS_TYPES: readonly EnvironmentType[] = ['production', 'staging'];

export function planDeploy(input: DeployPlanInput): DeployPlan {
  const {provider, envType, requested} = input;
  const capable = provider.capabilities.blueGreen;
  if (requested === undefined || requested === 'auto') {
    if (capable && GAPLESS_TYPES.includes(envType)) {
      return {strategy: 'blue-green', reason: `${envType} environment on provider "${provider.name}" (blueGreen capability): no downtime`};
    }
    return {
      strategy: 'immediate',
      reason: capable
        ? `${envType} environment: a short downtime is acceptable, one release at a time`
        : `provider "${provider.name}" lacks the blueGreen capability`,
    };
  }
  if (!isStrategyName(requested)) {
    throw new UsageError(`unknown deploy strategy "${requested}"; known strategies: ${STRATEGY_NAMES.join(', ')} (or auto)`, {
      actions: STRATEGY_NAMES.map((s) => `--strategy ${s}`),
      data: {requested, known: [...STRATEGY_NAMES]},
    });
  }
  if (requested === 'blue-green' && !capable) {
    throw new UsageError(
      `the blue-green strategy needs a provider with the blueGreen capability (two releases side by side behind a router); provider "${provider.name}" does not have it`,
      {
        actions: ['--strategy immediate', 'use a provider with a router, e.g. provider.name: docker-local'],
        data: {provider: provider.name, capability: 'blueGreen', requested},
      },
    );
  }
  return {strategy: requested, reason: `requested --strategy ${requested}`};
}

export function isStrategyName(value: string): value is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(value);
}
