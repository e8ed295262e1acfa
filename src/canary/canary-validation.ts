import { resolveCanaryAnalysis, type CanaryAnalysis, type DefinedOutcome } from '@switchyard/stats';
import type { OutcomeMetricsService } from '../outcomes/outcome-metrics.service';
import { FlagNotFound } from '../flags/flag.errors';
import type { FlagWire } from '../flags/flag-mapper';
import type { FlagsService } from '../flags/flags.service';
import { stageProblems } from './canary-plan';
import { CanaryInvalid } from './canary.errors';
import { DEFAULT_STAGES, SHADOW_DEFAULTS, type CanaryStage, type ShadowPlan } from './canary.types';
import type { CreateCanaryDto } from './dto/canary-input.dto';

export interface CheckedPlan {
  stages: CanaryStage[];
  analysis: CanaryAnalysis;
  flag: FlagWire;
  /** The shadow stage with every default filled in; null without one. */
  shadow: ShadowPlan | null;
}

/**
 * A create (or preview) body checked as a whole: the stages, every analysis field, the flag and the
 * variant. CanaryInvalid (400) lists every problem at once, each naming its field.
 */
export async function checkPlan(
  dto: CreateCanaryDto,
  flags: FlagsService,
  outcomes: OutcomeMetricsService,
): Promise<CheckedPlan> {
  const stages = dto.stages ?? DEFAULT_STAGES.map((stage) => ({ ...stage }));
  const gates = (dto.analysis as { outcomes?: unknown } | undefined)?.outcomes;
  const keys = Array.isArray(gates)
    ? gates
        .map((gate: { metric?: unknown } | null) => gate?.metric)
        .filter((key): key is string => typeof key === 'string')
    : [];
  const definitions = keys.length > 0 ? await outcomes.definitionsFor(keys) : new Map();
  const definedOutcome = (key: string): DefinedOutcome | undefined => {
    const metric = definitions.get(key);
    if (!metric || metric.builtIn || metric.archived) return undefined;
    return {
      type: metric.type,
      direction: metric.direction,
      unit: metric.unit,
      windowSeconds: metric.attributionWindowSeconds ?? 0,
    };
  };
  const { analysis, problems } = resolveCanaryAnalysis(dto.analysis, definedOutcome);
  const errors = [...stageProblems(stages), ...problems];
  const flag = await flags.get(dto.flagKey).catch((error: unknown) => {
    if (!(error instanceof FlagNotFound)) throw error;
    errors.push(`flagKey: flag "${dto.flagKey}" does not exist`);
    return undefined;
  });
  if (flag) errors.push(...flagProblems(flag, dto.variant));
  if (errors.length > 0 || !flag) throw new CanaryInvalid(errors);
  return { stages, analysis, flag, shadow: shadowPlanOf(dto) };
}

/** The body's shadow stage (validated by its DTO) with the verdict's defaults filled in. */
export function shadowPlanOf(dto: CreateCanaryDto): ShadowPlan | null {
  if (!dto.shadow) return null;
  const { percentage, durationSeconds, maxSpendUsd, maxConcurrency } = dto.shadow;
  return {
    percentage,
    durationSeconds,
    maxSpendUsd,
    maxConcurrency,
    minPairs: dto.shadow.minPairs ?? SHADOW_DEFAULTS.minPairs,
    maxLatencyRatio: dto.shadow.maxLatencyRatio ?? SHADOW_DEFAULTS.maxLatencyRatio,
    maxCostRatio: dto.shadow.maxCostRatio ?? SHADOW_DEFAULTS.maxCostRatio,
    minAgreementRate: dto.shadow.minAgreementRate ?? SHADOW_DEFAULTS.minAgreementRate,
  };
}

/** Why `variant` of `flag` cannot be rolled out, each problem naming its field. */
function flagProblems(flag: FlagWire, variant: string): string[] {
  const problems: string[] = [];
  if (flag.archivedAt) problems.push(`flagKey: flag "${flag.key}" is archived`);
  if (!Object.hasOwn(flag.variants, variant)) {
    problems.push(
      `variant: flag "${flag.key}" has no variant "${variant}" (variants: ${Object.keys(flag.variants).join(', ')})`,
    );
  }
  if (variant === flag.defaultVariant) {
    problems.push(`variant: "${variant}" is the flag's default variant, the control; roll out another variant`);
  }
  return problems;
}
