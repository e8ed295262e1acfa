import { DEFAULT_CATALOG, loadCatalog } from '../config/catalog.config';
import { planRoute, PolicyBook, policyBookProblems, resolveBudgets } from './policy-book';
import type { RoutingStrategy } from './routing-strategy';
import { STRATEGY_CLASSES } from './strategies';

const strategies = new Map<string, RoutingStrategy>(
  STRATEGY_CLASSES.map((Strategy) => new Strategy()).map((strategy) => [strategy.name, strategy]),
);

function catalogWith(edit: (raw: any) => void = () => undefined) {
  const raw = structuredClone(DEFAULT_CATALOG) as any;
  edit(raw);
  return loadCatalog(raw, 'test catalog', {});
}

describe('PolicyBook', () => {
  it('keeps the three original policies on their strategies and budgets, with or without `strategy`', () => {
    const config = catalogWith((raw) => raw.policies.forEach((policy: any) => delete policy.strategy));
    const book = PolicyBook.build(config.catalog, strategies, 2);
    const recommendations = book.policies.get('recommendations')!;
    const chat = book.policies.get('chat')!;
    const fraud = book.policies.get('fraud')!;
    expect([recommendations, chat, fraud].map((p) => p.strategy.name)).toEqual([
      'cost_first',
      'latency_first',
      'quality_first',
    ]);
    expect(recommendations.budgets).toEqual({
      totalTimeoutMs: 30_000,
      attemptTimeoutMs: 20_000,
      firstTokenTimeoutMs: 10_000,
      maxRetriesPerModel: 2,
      fallbackTiers: 'any',
    });
    expect(chat.budgets).toMatchObject({ attemptTimeoutMs: 8_000, firstTokenTimeoutMs: 3_000, maxRetriesPerModel: 1 });
    expect(fraud.budgets).toEqual({
      totalTimeoutMs: 90_000,
      attemptTimeoutMs: 60_000,
      firstTokenTimeoutMs: null,
      maxRetriesPerModel: 2,
      fallbackTiers: 'same_or_higher',
    });
    // Cost first orders its fallbacks cheapest first: gemini-2.5-flash ($2.80) before gpt-4.1 ($10).
    expect(recommendations.fallbacks.map((m) => m.id)).toEqual(['gemini-2.5-flash', 'gpt-4.1']);
  });

  it('lets a policy override its strategy budgets, and names a strategy no class serves', () => {
    const config = catalogWith((raw) => {
      raw.policies.push({
        name: 'search',
        strategy: 'latency_first',
        flag: 'search-model',
        defaultModel: 'deepseek-v3.2',
        fallback: ['gemini-2.5-flash'],
        budgets: { attemptTimeoutMs: 500, maxRetriesPerModel: 0, fallbackTiers: 'none' },
      });
    });
    const search = PolicyBook.build(config.catalog, strategies, 2).policies.get('search')!;
    expect(search.budgets).toEqual({
      totalTimeoutMs: 20_000,
      attemptTimeoutMs: 500,
      firstTokenTimeoutMs: 500,
      maxRetriesPerModel: 0,
      fallbackTiers: 'none',
    });
    expect(planRoute(search, search.defaultModel).candidates.map((m) => m.id)).toEqual(['deepseek-v3.2']);

    const unknown = catalogWith((raw) => (raw.policies[1].strategy = 'fastest'));
    expect(policyBookProblems(unknown.catalog, strategies)).toEqual([
      'policies[1].strategy: unknown strategy "fastest" (strategies: cost_first, latency_first, quality_first)',
    ]);
  });
});

describe('resolveBudgets', () => {
  const defaults = {
    totalTimeoutMs: 30_000,
    attemptTimeoutMs: 20_000,
    firstTokenTimeoutMs: 10_000,
    fallbackTiers: 'any' as const,
  };

  it('cuts the per-attempt and first-token defaults to an overridden total', () => {
    expect(resolveBudgets({ totalTimeoutMs: 5_000 }, defaults, 2)).toEqual({
      totalTimeoutMs: 5_000,
      attemptTimeoutMs: 5_000,
      firstTokenTimeoutMs: 5_000,
      maxRetriesPerModel: 2,
      fallbackTiers: 'any',
    });
  });

  it('caps GATEWAY_MAX_RETRIES by the strategy, but an explicit policy budget wins', () => {
    expect(resolveBudgets(undefined, { ...defaults, maxRetriesPerModel: 1 }, 0).maxRetriesPerModel).toBe(0);
    expect(resolveBudgets(undefined, { ...defaults, maxRetriesPerModel: 1 }, 3).maxRetriesPerModel).toBe(1);
    expect(resolveBudgets({ maxRetriesPerModel: 4 }, defaults, 2).maxRetriesPerModel).toBe(4);
  });
});

describe('planRoute', () => {
  const book = PolicyBook.build(catalogWith().catalog, strategies, 2);

  it('quality first falls back only to models as strong as the chosen one, and forces temperature 0', () => {
    const fraud = book.policies.get('fraud')!;
    const plan = planRoute(fraud, book.models.get('gpt-4.1')!, { params: { temperature: 0.9 } });
    expect(plan.candidates.map((m) => m.id)).toEqual(['gpt-4.1']);
    expect(plan.bodyOverrides).toEqual({ temperature: 0 });
    expect(plan.variant).toEqual({ params: { temperature: 0.9 } });
    expect(plan.firstChunkTimeoutMs).toBeUndefined();
  });

  it('never lists the chosen model twice', () => {
    const chat = book.policies.get('chat')!;
    const plan = planRoute(chat, book.models.get('deepseek-v3.2')!);
    expect(plan.candidates.map((m) => m.id)).toEqual(['deepseek-v3.2', 'gpt-4.1']);
  });
});
