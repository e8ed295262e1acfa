import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { CatalogModel } from '../config/catalog.schema';
import { FlagsService } from '../flags/flags.service';
import { CatalogService } from '../catalog/catalog.service';
import { ModelHealth } from '../providers/model-health';
import { ROUTING_POLICIES, type RoutePlan, type RoutingPolicy } from './routing-policy';
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

export interface Route {
  policy: string | null;
  flag: string | null;
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

/** Picks the route of a request: the policy's strategy class, its flag's variant, and model health. */
@Injectable()
export class RoutingService implements OnModuleInit {
  private readonly logger = new Logger(RoutingService.name);
  private readonly policies: Map<string, RoutingPolicy>;

  constructor(
    @Inject(ROUTING_POLICIES) policies: RoutingPolicy[],
    private readonly catalog: CatalogService,
    private readonly flags: FlagsService,
    private readonly health: ModelHealth,
  ) {
    this.policies = new Map(policies.map((policy) => [policy.name, policy]));
  }

  onModuleInit(): void {
    const missing = this.catalog.listPolicies().filter((policy) => !this.policies.has(policy.name));
    if (missing.length > 0) {
      throw new Error(
        `catalog policies without a strategy class: ${missing.map((p) => p.name).join(', ')} ` +
          `(known: ${[...this.policies.keys()].join(', ')}); add a class implementing RoutingPolicy`,
      );
    }
  }

  policyNames(): string[] {
    return this.catalog.listPolicies().map((policy) => policy.name);
  }

  resolve(request: RouteRequest): Route {
    const policyName = request.policyHeader ?? this.policyFromModel(request.model);
    if (policyName === undefined) {
      const model = this.catalog.findModel(String(request.model));
      if (!model) throw new UnknownModel(String(request.model));
      return this.withHealthyCandidates({
        policy: null,
        flag: null,
        variant: null,
        reason: 'direct',
        plan: directPlan(model),
      });
    }

    const policy = this.catalog.findPolicy(policyName);
    const strategy = this.policies.get(policyName);
    if (!policy || !strategy) throw new UnknownPolicy(policyName, this.policyNames(), !!request.policyHeader);
    const evaluation = this.flags.evaluateCached(policy.flag, {
      userId: request.userId,
      attributes: request.attributes,
    });
    const chosen = this.catalog.findModel(evaluation?.model ?? policy.defaultModel);
    if (!chosen) throw new Error(`flag ${policy.flag} serves model ${evaluation?.model}, which is not in the catalog`);
    const fallbacks = policy.fallback
      .map((id) => this.catalog.findModel(id))
      .filter((model): model is CatalogModel => model !== undefined && model.id !== chosen.id);
    const plan = strategy.plan({ policy, chosen, fallbacks, body: request.body });
    return this.withHealthyCandidates({
      policy: policy.name,
      flag: evaluation ? policy.flag : null,
      variant: evaluation?.variant ?? null,
      reason: evaluation?.reason ?? 'no_flag',
      plan,
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
      throw new NoHealthyModel(route.plan.candidates.map((model) => model.id));
    }
    return { ...route, chosen: candidates[0], plan: allHealthy ? route.plan : { ...route.plan, candidates: healthy } };
  }
}
