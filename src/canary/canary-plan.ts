import { dollars } from '@switchyard/stats';
import type { FlagWire } from '../flags/flag-mapper';
import type { CanaryStage, ShadowPlan } from './canary.types';

/** What is wrong with a stage plan, one sentence per problem, each naming its field. */
export function stageProblems(stages: CanaryStage[]): string[] {
  const problems: string[] = [];
  stages.forEach((stage, index) => {
    if (index > 0 && stage.percentage <= stages[index - 1].percentage) {
      problems.push(
        `stages[${index}].percentage: ${stage.percentage} must be above the previous stage's ${stages[index - 1].percentage} (percentages must rise)`,
      );
    }
    if (index < stages.length - 1 && stage.durationSeconds < 1) {
      problems.push(`stages[${index}].durationSeconds: only the final stage may last 0 seconds`);
    }
  });
  const last = stages[stages.length - 1];
  if (last && last.percentage !== 100)
    problems.push(
      `stages[${stages.length - 1}].percentage: the final stage must be 100 (the rollout ends with everyone on the treatment)`,
    );
  return problems;
}

/** e.g. "shadow 10% 3600s (max $20.00, 16 in flight)" */
export function describeShadow(shadow: ShadowPlan): string {
  return `shadow ${shadow.percentage}% ${shadow.durationSeconds}s (max ${dollars(shadow.maxSpendUsd)}, ${shadow.maxConcurrency} in flight)`;
}

/** e.g. "5% 3600s -> 15% 3600s -> 100%" */
export function describeStages(stages: CanaryStage[]): string {
  return stages
    .map((stage) => `${stage.percentage}%${stage.durationSeconds > 0 ? ` ${stage.durationSeconds}s` : ''}`)
    .join(' -> ');
}

/**
 * The requests (both arms) a stage's confidence sequences are tuned for (N*, see
 * libs/stats confidence-sequence.ts): what the flag's last hour before the stage says it will see
 * in the stage's duration. Fixed before the stage's own data, as the tuning must be. Never below
 * what it takes for the smaller arm to reach twice minRequests, so that a flag with no history, or
 * a very short stage, is not tuned for a sample too small to judge.
 */
export function plannedRequestsFor(stage: CanaryStage, requestsInLastHour: number, minRequests: number): number {
  const expected = (requestsInLastHour * stage.durationSeconds) / 3600;
  const share = stage.percentage >= 100 ? 1 : Math.min(stage.percentage, 100 - stage.percentage) / 100;
  return Math.max(expected, (2 * minRequests) / Math.max(share, 0.01));
}

/**
 * The treatment's expected share of units (users, and requests without one) under the flag's
 * weights in force, for the sample-ratio check; or why the weights do not say it. The default
 * variant (the control) gets what the rollout leaves; a targeting rule that can serve either arm
 * sends users there whatever the weights, and a disabled flag serves the default to everyone.
 */
export function expectedTreatmentShare(
  flag: Pick<FlagWire, 'enabled' | 'rules' | 'rollout' | 'defaultVariant'>,
  treatment: string,
  control: string,
): { expectedShare: number } | { skipped: string } {
  if (!flag.enabled) return { skipped: 'the flag is switched off: every user gets the default variant' };
  if (control !== flag.defaultVariant)
    return { skipped: `the control "${control}" is no longer the flag's default variant` };
  const servesAnArm = flag.rules.some(({ serve }) => {
    if (serve.variant !== undefined) return serve.variant === treatment || serve.variant === control;
    const weights = serve.rollout ?? {};
    const total = Object.values(weights).reduce((sum, weight) => sum + weight, 0);
    return treatment in weights || control in weights || total < 100;
  });
  if (servesAnArm) return { skipped: 'a targeting rule of the flag serves one of the arms, whatever the weights' };
  const treatmentWeight = flag.rollout[treatment] ?? 0;
  const others = Object.entries(flag.rollout).reduce(
    (sum, [variant, weight]) => (variant === treatment || variant === control ? sum : sum + weight),
    0,
  );
  const controlWeight = 100 - treatmentWeight - others;
  if (!(treatmentWeight > 0 && controlWeight > 0)) {
    return { skipped: `the weights in force give the treatment ${treatmentWeight}% and the control ${controlWeight}%` };
  }
  return { expectedShare: treatmentWeight / (treatmentWeight + controlWeight) };
}
