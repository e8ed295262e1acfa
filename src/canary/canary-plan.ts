import type { CanaryStage } from './canary.types';

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

/** e.g. "5% 3600s -> 15% 3600s -> 100%" */
export function describeStages(stages: CanaryStage[]): string {
  return stages
    .map((stage) => `${stage.percentage}%${stage.durationSeconds > 0 ? ` ${stage.durationSeconds}s` : ''}`)
    .join(' -> ');
}
