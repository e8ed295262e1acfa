import type { CatalogModel } from '../config/catalog.schema';
import type { FlagWire } from '../flags/flag-mapper';
import { modelOfVariant } from '../flags/flag.types';
import type { VariantTraffic } from '../metrics/metrics-query.service';
import type { CompiledPolicy } from '../routing/policy-book';
import type { ActiveCanary } from './active-canaries';
import type { PolicyDto, PolicyVariantDto } from './dto/policy.dto';

/** What the policy map joins for one policy. */
export interface PolicyFacts {
  compiled: CompiledPolicy;
  /** The policy's flag, unless it does not exist or is archived. */
  flag: FlagWire | undefined;
  /** The policy's rows of the window, per variant. */
  traffic: VariantTraffic[];
  canary: ActiveCanary | undefined;
  models: ReadonlyMap<string, CatalogModel>;
}

/** One policy as operators see it: how it routes, what its flag serves to whom, and what that costs. */
export function policyView({ compiled, flag, traffic, canary, models }: PolicyFacts): PolicyDto {
  const { policy, strategy, budgets, defaultModel, fallbacks } = compiled;
  const requests = traffic.reduce((sum, row) => sum + row.requests, 0);
  const costUsd = traffic.reduce((sum, row) => sum + row.costUsd, 0);
  const weights = flag ? weightsOf(flag) : {};
  // The default variant (the control) first, then by name: jsonb keeps no key order of its own.
  const entries = Object.entries(flag?.variants ?? {}).sort(
    ([a], [b]) => Number(b === flag?.defaultVariant) - Number(a === flag?.defaultVariant) || a.localeCompare(b),
  );
  const variants: PolicyVariantDto[] = entries.map(([name, variant]) => {
    const model = modelOfVariant(variant);
    const rows = traffic.filter((row) => row.variant === name);
    const used = rows.reduce((sum, row) => sum + row.requests, 0);
    return {
      name,
      model,
      pricing: pricingOf(models.get(model)),
      ...(typeof variant === 'string' ? {} : { params: variant.params, systemPrompt: variant.systemPrompt }),
      default: name === flag?.defaultVariant,
      weight: weights[name] ?? 0,
      lastHour: {
        requests: used,
        share: requests === 0 ? 0 : used / requests,
        costUsd: rows.reduce((sum, row) => sum + row.costUsd, 0),
      },
    };
  });
  return {
    name: policy.name,
    strategy: { name: strategy.name, summary: strategy.summary },
    budgets,
    defaultModel: { id: defaultModel.id, pricing: pricingOf(defaultModel)! },
    fallback: fallbacks.map((model) => model.id),
    flagKey: policy.flag,
    flag: flag
      ? { enabled: flag.enabled, version: flag.version, defaultVariant: flag.defaultVariant, rules: flag.rules.length }
      : null,
    variants,
    canary: canary
      ? { id: canary.id, variant: canary.variant, state: canary.state, percentage: canary.stage?.percentage ?? null }
      : null,
    lastHour: { requests, costUsd },
  };
}

function pricingOf(model: CatalogModel | undefined): { inputPer1M: number; outputPer1M: number } | null {
  return model ? { inputPer1M: model.pricing.inputPer1M, outputPer1M: model.pricing.outputPer1M } : null;
}

/** The share of users each variant gets from the rollout now; what the rollout leaves goes to the default. */
export function weightsOf(flag: Pick<FlagWire, 'enabled' | 'variants' | 'defaultVariant' | 'rollout'>) {
  const weights: Record<string, number> = Object.fromEntries(Object.keys(flag.variants).map((name) => [name, 0]));
  if (!flag.enabled) return { ...weights, [flag.defaultVariant]: 100 };
  let given = 0;
  for (const [name, percent] of Object.entries(flag.rollout)) {
    weights[name] = percent;
    given += percent;
  }
  weights[flag.defaultVariant] = round2(weights[flag.defaultVariant] + 100 - given);
  return weights;
}

const round2 = (value: number) => Math.round(value * 100) / 100;
