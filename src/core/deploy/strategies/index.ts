/** The strategies by name: a typed table, so no code branches on strategy strings. */
import type {Strategy, StrategyName} from '../strategy.js';
import {blueGreenStrategy} from './blue-green.js';
import {immediateStrategy} from './immediate.js';

export const STRATEGIES: Readonly<Record<StrategyName, Strategy>> = {
  'blue-green': blueGreenStrategy,
  immediate: immediateStrategy,
};

export function strategyFor(name: StrategyName): Strategy {
  return STRATEGIES[name];
}
