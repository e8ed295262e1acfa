import { CostFirstStrategy } from './cost-first.strategy';
import { LatencyFirstStrategy } from './latency-first.strategy';
import { QualityFirstStrategy } from './quality-first.strategy';

/** Every strategy a catalog policy may name. A new strategy is a class here. */
export const STRATEGY_CLASSES = [CostFirstStrategy, LatencyFirstStrategy, QualityFirstStrategy];
