import type {
  CatalogDocument,
  CatalogModel,
  CatalogPolicy,
  FallbackTiers,
  PolicyBudgets,
} from '../config/catalog.schema';
import type { VariantSettings } from '../flags/flag.types';
import type { RoutingStrategy, StrategyDefaults } from './routing-strategy';

/** A policy's budgets with every default and cap applied: what its requests actually get. */
export interface ResolvedBudgets {
  totalTimeoutMs: number;
  attemptTimeoutMs: number;
  /** Streams; null: only the per-attempt budget applies. */
  firstTokenTimeoutMs: number | null;
  maxRetriesPerModel: number;
  fallbackTiers: FallbackTiers;
}

/** A catalog policy joined with its strategy and models, worked out once per catalog. */
export interface CompiledPolicy {
  policy: CatalogPolicy;
  strategy: RoutingStrategy;
  budgets: ResolvedBudgets;
  defaultModel: CatalogModel;
  /** The catalog's fallback chain in the strategy's order. */
  fallbacks: CatalogModel[];
}

/** Where one request goes: its policy, flag variant and plan. */
export interface Route {
  policy: string | null;
  flag: string | null;
  /**
   * The flag's version that chose the variant: a canary's stage counts only requests routed by its
   * own weights (version at least the stage's), not those a replica routed before it saw the change.
   */
  flagVersion: number | null;
  variant: string | null;
  /** Why this variant: the flag evaluation's reason, `no_flag`, or `direct` for a concrete model. */
  reason: string;
  plan: RoutePlan;
  /**
   * The model the policy and flag chose, even when its circuit is open and the plan skips it: an
   * answer from any other model is a fallback (and a canary counts it against the variant).
   */
  chosen: CatalogModel;
}

/** How one request is to be served: which models in which order, with which budgets and body changes. */
export interface RoutePlan {
  /** The chosen model first, then the fallbacks to try in order. */
  candidates: CatalogModel[];
  /** Budget of the whole request, retries and fallbacks included. */
  totalTimeoutMs: number;
  /** Budget of one upstream attempt. */
  attemptTimeoutMs: number;
  /** Streams: time allowed to the first event before the attempt counts as failed. */
  firstChunkTimeoutMs?: number;
  /** Retries per model after its first attempt; unset: GATEWAY_MAX_RETRIES. */
  maxRetriesPerModel?: number;
  /** Fields forced onto the upstream body by the policy's strategy (quality first: temperature 0). */
  bodyOverrides: Readonly<Record<string, unknown>>;
  /** The flag variant's params and system prompt, applied under bodyOverrides. */
  variant?: VariantSettings;
  /** Whether the caller's `metadata` goes upstream (it is for targeting, not for the provider). */
  forwardMetadata: boolean;
}

/**
 * Every policy of one catalog compiled against the strategy classes, with that catalog's models.
 * Immutable: a reload builds a new book and routing swaps it in one assignment, so a request routes
 * on one catalog from start to end.
 */
export class PolicyBook {
  private constructor(
    readonly policies: ReadonlyMap<string, CompiledPolicy>,
    readonly models: ReadonlyMap<string, CatalogModel>,
  ) {}

  /** `gatewayMaxRetries` is GATEWAY_MAX_RETRIES: the retries of a policy that sets none. */
  static build(catalog: CatalogDocument, strategies: ReadonlyMap<string, RoutingStrategy>, gatewayMaxRetries: number) {
    const models = new Map(catalog.models.map((model) => [model.id, model]));
    const model = (id: string) => {
      const found = models.get(id);
      if (!found) throw new Error(`catalog model "${id}" is missing: the catalog was not validated`);
      return found;
    };
    const policies = new Map<string, CompiledPolicy>();
    for (const policy of catalog.policies) {
      const strategy = strategies.get(policy.strategy);
      if (!strategy) throw new Error(`policy "${policy.name}" names unknown strategy "${policy.strategy}"`);
      policies.set(policy.name, {
        policy,
        strategy,
        budgets: resolveBudgets(policy.budgets, strategy.defaults, gatewayMaxRetries),
        defaultModel: model(policy.defaultModel),
        fallbacks: strategy.orderFallbacks(policy.fallback.map(model)),
      });
    }
    return new PolicyBook(policies, models);
  }

  get names(): string[] {
    return [...this.policies.keys()];
  }
}

/** The policy's overrides over its strategy's defaults; the per-attempt budgets never exceed the total. */
export function resolveBudgets(
  overrides: PolicyBudgets | undefined,
  defaults: StrategyDefaults,
  gatewayMaxRetries: number,
): ResolvedBudgets {
  const totalTimeoutMs = overrides?.totalTimeoutMs ?? defaults.totalTimeoutMs;
  const attemptTimeoutMs = Math.min(overrides?.attemptTimeoutMs ?? defaults.attemptTimeoutMs, totalTimeoutMs);
  const firstToken = overrides?.firstTokenTimeoutMs ?? defaults.firstTokenTimeoutMs;
  return {
    totalTimeoutMs,
    attemptTimeoutMs,
    firstTokenTimeoutMs: firstToken === undefined ? null : Math.min(firstToken, attemptTimeoutMs),
    maxRetriesPerModel:
      overrides?.maxRetriesPerModel ?? Math.min(gatewayMaxRetries, defaults.maxRetriesPerModel ?? gatewayMaxRetries),
    fallbackTiers: overrides?.fallbackTiers ?? defaults.fallbackTiers,
  };
}

/** The plan for one request of `compiled` once the flag (or the policy's default) chose `chosen`. */
export function planRoute(compiled: CompiledPolicy, chosen: CatalogModel, variant?: VariantSettings): RoutePlan {
  const { budgets, strategy } = compiled;
  return {
    candidates: [chosen, ...allowedFallbacks(compiled.fallbacks, chosen, budgets.fallbackTiers)],
    totalTimeoutMs: budgets.totalTimeoutMs,
    attemptTimeoutMs: budgets.attemptTimeoutMs,
    firstChunkTimeoutMs: budgets.firstTokenTimeoutMs ?? undefined,
    maxRetriesPerModel: budgets.maxRetriesPerModel,
    bodyOverrides: strategy.forcedParams,
    variant,
    forwardMetadata: false,
  };
}

function allowedFallbacks(fallbacks: CatalogModel[], chosen: CatalogModel, tiers: FallbackTiers): CatalogModel[] {
  if (tiers === 'none') return [];
  return fallbacks.filter((model) => model.id !== chosen.id && (tiers === 'any' || model.tier >= chosen.tier));
}

/** Policies whose strategy has no class, each named by its path. */
export function policyBookProblems(catalog: CatalogDocument, strategies: ReadonlyMap<string, RoutingStrategy>) {
  const known = [...strategies.keys()].join(', ');
  return catalog.policies.flatMap((policy, i) =>
    strategies.has(policy.strategy)
      ? []
      : [`policies[${i}].strategy: unknown strategy "${policy.strategy}" (strategies: ${known})`],
  );
}
