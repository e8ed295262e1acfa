/** Where a canary stands, in the words the rollout pages share: DOM-free. */
import { dash } from './format';
import type { Canary } from './types';

/** The treatment's share an ended canary left on its flag: all of it if promoted, none if rolled back or aborted. */
const SHARE_LEFT: Record<string, number> = { promoted: 100, rolled_back: 0, aborted: 0 };

export function stateWords(state: string): string {
  return state.replace('_', ' ');
}

/** An arm by its variant, with its role unless the variant is named after it ("treatment (treatment)"). */
export function armLabel(variant: string, role: 'treatment' | 'control'): string {
  return variant === role ? variant : `${variant} (${role})`;
}

/** Its stage in the list: "2 of 3", "shadow", "not started"; "ended in 2 of 3" once it ended. */
export function stageCell(canary: Canary): string {
  const { stage } = canary;
  if (canary.endedAt)
    return stage
      ? `ended in ${stage.index + 1} of ${canary.stages.length}`
      : canary.shadowStage
        ? 'ended in shadow'
        : 'never started';
  return stage
    ? `${stage.index + 1} of ${canary.stages.length}`
    : canary.phase === 'shadow' && canary.shadowStage
      ? 'shadow'
      : 'not started';
}

/** The treatment's share its stage plans; once it ended, the share it left: "0% (ended)". */
export function shareCell(canary: Canary): string {
  const started = canary.stage ?? canary.shadowStage;
  if (canary.endedAt) return started ? `${SHARE_LEFT[canary.state]}% (ended)` : dash;
  return canary.stage ? `${canary.stage.percentage}%` : canary.phase === 'shadow' && canary.shadowStage ? '0%' : dash;
}

/** Its stage in a sentence (the rollout's header): once it ended, where, and the share it left. */
export function stageSentence(canary: Canary): string {
  const { stage } = canary;
  if (canary.endedAt) {
    const where = stage
      ? `in stage ${stage.index + 1} of ${canary.stages.length} (planned ${stage.percentage}%)`
      : canary.shadowStage
        ? 'in the shadow stage'
        : null;
    return where
      ? `${stateWords(canary.state)} ${where}, leaving the treatment at ${SHARE_LEFT[canary.state]}%`
      : `${stateWords(canary.state)} before it started`;
  }
  return stage
    ? `${stage.index + 1} of ${canary.stages.length}, planned ${stage.percentage}% treatment`
    : canary.phase === 'shadow' && canary.shadowStage
      ? 'shadow stage (every user on the control)'
      : 'not started';
}
