import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CatalogModel } from '../config/catalog.schema';
import { gatewayConfig, type GatewayConfig } from '../config/gateway.config';
import { FlagsService } from '../flags/flags.service';
import { CatalogService } from '../catalog/catalog.service';
import { ModelHealth } from '../providers/model-health';
import {
  type CompiledPolicy,
  planRoute,
  PolicyBook,
  policyBookProblems,
  type Route,
  type RoutePlan,
} from './policy-book';
import { ROUTING_STRATEGIES, type RoutingStrategy } from './routing-strategy';
import { NoHealthyModel, UnknownModel, UnknownPolicy } from './routing.errors';

export const POLICY_ALIAS_PREFIX = 'route:';

export interface RouteRequest {
  /** The body's `model`: a catalog model id or `route:<policy>`. */
  model: unknown;
  /** Header x-switchyard-policy; wins over the body's model. */
  policyHeader?: string;
  userId?: string;
  attributes: Record<string, string>;
  body: Record<string, unknown>;
}

export type { Route } from './policy-book';

/** A concrete model asked for by id: no policy, no flag, no fallback. */
function directPlan(model: CatalogModel): RoutePlan {
  return {
    candidates: [model],
    totalTimeoutMs: 60_000,
    attemptTimeoutMs: 60_000,
    bodyOverrides: {},
    forwardMetadata: false,
  };
}

/**
 * Picks the route of a request: the policy (compiled with its strategy and budgets), its flag's
 * variant, and model health. The policies are compiled once per catalog into a PolicyBook, rebuilt
 * when the catalog is reloaded; a catalog whose policies name no strategy class is refused.
 */
@Injectable()
export class RoutingService {
  private readonly logger = new Logger(RoutingService.name);
  private readonly strategies: ReadonlyMap<string, RoutingStrategy>;
  private book: PolicyBook;

  constructor(
    @Inject(ROUTING_STRATEGIES) strategies: RoutingStrategy[],
    catalog: CatalogService,
    private readonly flags: FlagsService,
    private readonly health: ModelHealth,
    @Inject(gatewayConfig.KEY) private readonly gateway: GatewayConfig,
  ) {
    this.strategies = new Map(strategies.map((strategy) => [strategy.name, strategy]));
    this.book = this.compile(catalog.current.catalog);
    catalog.addCheck((candidate) => policyBookProblems(candidate.catalog, this.strategies));
    catalog.onChange(({ current }) => (this.book = this.compile(current.catalog)));
  }

  private compile(catalog: Parameters<typeof PolicyBook.build>[0]): PolicyBook {
    return PolicyBook.build(catalog, this.strategies, this.gateway.retry.maxRetries);
  }

  policyNames(): string[] {
    return this.book.names;
  }

  /** Every policy as requests are routed now: strategy, resolved budgets, models. */
  compiledPolicies(): CompiledPolicy[] {
    return [...this.book.policies.values()];
  }

  resolve(request: RouteRequest): Route {
    // One book for the whole request, even if a reload swaps it meanwhile.
    const book = this.book;
    const policyName = request.policyHeader ?? this.policyFromModel(request.model);
    if (policyName === undefined) {
      const model = book.models.get(String(request.model));
      if (!model) throw new UnknownModel(String(request.model));
      return this.withHealthyCandidates({
        policy: null,
        flag: null,
        flagVersion: null,
        variant: null,
        reason: 'direct',
        plan: directPlan(model),
      });
    }

    const compiled = book.policies.get(policyName);
    if (!compiled) throw new UnknownPolicy(policyName, book.names, !!request.policyHeader);
    const { policy } = compiled;
    const evaluation = this.flags.evaluateCached(policy.flag, {
      userId: request.userId,
      attributes: request.attributes,
    });
    const flagged = evaluation ? book.models.get(evaluation.model) : undefined;
    if (evaluation && !flagged) {
      // Reloads refuse a catalog without a model a flag serves, so only a race between a flag change
      // on a replica with a newer catalog and this one's reload lands here: serve the policy's default.
      this.logger.warn({ flag: policy.flag, model: evaluation.model }, 'flag serves a model this catalog lacks');
    }
    const served = flagged ? evaluation : undefined;
    return this.withHealthyCandidates({
      policy: policy.name,
      flag: served ? policy.flag : null,
      flagVersion: served?.version ?? null,
      variant: served?.variant ?? null,
      reason: served?.reason ?? (evaluation ? 'model_not_in_catalog' : 'no_flag'),
      plan: planRoute(compiled, flagged ?? compiled.defaultModel, served?.settings),
    });
  }

  /**
   * The same request served by another variant of its flag (a canary's control, when the treatment's
   * budget ran out): that variant's model, settings and fallbacks. Undefined when the route has no
   * flag, or the variant or its model is unknown.
   */
  withVariant(route: Route, variant: string, reason: string): Route | undefined {
    const book = this.book;
    const compiled = route.policy === null ? undefined : book.policies.get(route.policy);
    const served = route.flag === null ? undefined : this.flags.variantCached(route.flag, variant);
    const model = served && book.models.get(served.model);
    if (!compiled || !served || !model) return undefined;
    return this.withHealthyCandidates({
      policy: route.policy,
      flag: route.flag,
      flagVersion: route.flagVersion,
      variant,
      reason,
      plan: planRoute(compiled, model, served.settings),
    });
  }

  private policyFromModel(model: unknown): string | undefined {
    if (typeof model !== 'string' || !model.startsWith(POLICY_ALIAS_PREFIX)) return undefined;
    return model.slice(POLICY_ALIAS_PREFIX.length);
  }

  /** Models whose circuit is open are skipped; with none left the request fails loudly instead of guessing. */
  private withHealthyCandidates(route: Omit<Route, 'chosen'>): Route {
    const { candidates } = route.plan;
    const allHealthy = candidates.every((model) => this.health.isAvailable(model.id));
    // The common case, every circuit closed, keeps the plan as the strategy made it.
    const healthy = allHealthy ? candidates : candidates.filter((model) => this.health.isAvailable(model.id));
    if (healthy.length === 0) {
      const names = route.plan.candidates.map((model) => model.id).join(', ');
      this.logger.warn(`no healthy model for ${route.policy ?? 'direct'} request (circuits open: ${names})`);
      const reopensInMs = Math.min(...candidates.map((model) => this.health.reopensInMs(model.id)));
      throw new NoHealthyModel({ ...route, chosen: candidates[0] }, reopensInMs);
    }
    return { ...route, chosen: candidates[0], plan: allHealthy ? route.plan : { ...route.plan, candidates: healthy } };
  }
}
