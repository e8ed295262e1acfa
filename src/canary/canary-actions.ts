import type { AlertType } from '../alerts/alert.types';
import type { BudgetAction } from '../budgets/budget.types';
import { CanaryStateConflict } from './canary.errors';
import type { CanaryChange, CanaryEventType, CanarySnapshot, CanaryState } from './canary.types';

export const CANARY_ACTIONS = ['start', 'pause', 'resume', 'promote', 'abort', 'rollback'] as const;
export type CanaryAction = (typeof CANARY_ACTIONS)[number];

/** Which states each manual action leaves from, where it goes, and the event it writes. */
const ACTIONS: Record<CanaryAction, { from: readonly CanaryState[]; to: CanaryState; event: CanaryEventType }> = {
  start: { from: ['pending'], to: 'running', event: 'started' },
  pause: { from: ['running'], to: 'paused', event: 'paused' },
  resume: { from: ['paused'], to: 'running', event: 'resumed' },
  promote: { from: ['pending', 'running', 'paused'], to: 'promoted', event: 'promoted' },
  abort: { from: ['pending', 'running', 'paused'], to: 'aborted', event: 'aborted' },
  rollback: { from: ['running', 'paused'], to: 'rolled_back', event: 'rolled_back' },
};

const ALERT_OF_STATE: Partial<Record<CanaryState, AlertType>> = {
  running: 'canary.started',
  paused: 'canary.paused',
  promoted: 'canary.promoted',
  rolled_back: 'canary.rolled_back',
  aborted: 'canary.aborted',
};

/**
 * What a person's action changes, or CanaryStateConflict (naming the current state) when the action
 * does not apply to it. `actionId` is unique to this action: a person repeating an action (pause,
 * resume, pause) means it each time, so its alert must not be taken for a duplicate.
 */
export function manualChange(
  canary: CanarySnapshot,
  action: CanaryAction,
  actor: string,
  reason: string | undefined,
  actionId: string,
): CanaryChange {
  const { from, to, event } = ACTIONS[action];
  if (!from.includes(canary.state)) throw new CanaryStateConflict(canary.id, canary.state, action, from);
  const why = reason ? `: ${reason}` : '';
  const stage = canary.stages[canary.stageIndex];
  const change: CanaryChange = { state: to, event: { type: event, message: `${action} by ${actor}${why}` } };
  if (action === 'start' && canary.shadow && canary.phase === 'shadow') {
    // Users all stay on the control: the candidate is only asked copies of their requests.
    change.stageIndex = 0;
    change.weight = 0;
    change.event.message = `started by ${actor}${why}: shadow stage, ${canary.shadow.percentage}% of users' requests copied to the candidate for ${canary.shadow.durationSeconds}s, before stage 1 of ${canary.stages.length}`;
  } else if (action === 'start') {
    change.stageIndex = 0;
    change.weight = canary.stages[0].percentage;
    change.event.message = `started by ${actor}${why}: stage 1 of ${canary.stages.length} at ${canary.stages[0].percentage}%`;
  } else if (action === 'resume') {
    change.restartStage = true;
    change.restoreWeight = canary.phase === 'shadow' ? 0 : stage.percentage;
    change.event.message =
      canary.phase === 'shadow'
        ? `resumed by ${actor}${why}: the shadow stage gets a fresh window`
        : `resumed by ${actor}${why}: stage ${canary.stageIndex + 1} (${stage.percentage}%) gets a fresh window`;
  } else if (action === 'promote') {
    change.weight = 100;
    change.event.message = `promoted by ${actor}${why}: treatment at 100%`;
  } else if (action === 'abort' || action === 'rollback') {
    change.weight = canary.state === 'pending' ? undefined : 0;
    change.event.message = `${action === 'abort' ? 'aborted' : 'rolled back'} by ${actor}${why}: treatment at 0%`;
  }
  // A resume also leaves for `running`, but a webhook reader must not take it for a new canary.
  const alertType = action === 'resume' ? 'canary.resumed' : ALERT_OF_STATE[to];
  if (alertType)
    change.alert = {
      type: alertType,
      message: `canary ${canary.id} on ${canary.flagKey}: ${change.event.message}`,
      dedupKey: `canary:${canary.id}:${action}:${canary.stageIndex}:${actionId}`,
    };
  return change;
}

/**
 * The pause a canary's spend budget asks for when it runs out: its stages stop, since the requests
 * the budget acts on are left out of the judgment and the treatment's evidence would thin out. With
 * shadow_only the treatment goes to 0% at once: the budget sends treatment traffic to the control,
 * and only the flag's weight does so for every request on every replica (the budget itself reroutes
 * only the requests whose worst case no longer fits). With reject or downgrade the weights stay: the
 * budget's own action already decides those requests. The resume puts the stage's weight back.
 */
export function budgetPause(
  canary: CanarySnapshot,
  actor: string,
  reason: string,
  actionId: string,
  action: BudgetAction,
): CanaryChange {
  const change = manualChange(canary, 'pause', actor, reason, actionId);
  let weights = `; the flag's weights stay as they are: the budget's ${action} decides the treatment's requests`;
  if (action === 'shadow_only') {
    // A shadow stage has no user on the treatment to take away.
    if (canary.phase === 'shadow') return change;
    change.weight = 0;
    weights = '; treatment at 0% until resumed';
  }
  change.event.message += weights;
  if (change.alert) change.alert.message += weights;
  return change;
}
