import { DomainError } from '../common/domain-error';
import { excerpt } from '../common/excerpt';

/** The canary module's refusals; the kind decides the HTTP status (domain-error-status.ts). */

export class CanaryNotFound extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'canary_not_found';

  constructor(readonly id: string) {
    super(`canary "${id}" does not exist`);
  }
}

/** A page cursor that names no canary: a typo, or an id from another installation. */
export class UnknownCanaryCursor extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'unknown_cursor';

  constructor(before: string) {
    super(`before: no canary has id ${before}`, { param: 'before' });
  }
}

/** The action does not apply to the canary's current state (resume a pending one, abort a promoted one...). */
export class CanaryStateConflict extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'canary_state_conflict';

  constructor(
    readonly id: string,
    readonly state: string,
    action: string,
    allowedFrom: readonly string[],
  ) {
    super(`canary ${id} is ${state}; ${action} applies only to a canary that is ${allowedFrom.join(' or ')}`);
  }
}

/**
 * A resume or promotion of a canary whose flag was archived while it was paused: an archived flag's
 * weights never move again, so the canary can only end, and abort (which needs no weight) ends it.
 */
export class CanaryFlagArchived extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'flag_archived';

  constructor(id: string, flagKey: string, action: string) {
    super(
      `canary ${id} cannot ${action}: its flag "${flagKey}" is archived, and an archived flag's traffic cannot move; ` +
        `abort the canary (POST /api/canaries/${id}/abort) to end it`,
    );
  }
}

/** A resume while one of the canary's spend budgets is used up: its treatment would have no traffic to judge. */
export class CanaryBudgetExhausted extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'canary_budget_exhausted';

  constructor(
    readonly id: string,
    readonly budgetId: string,
    why: string,
  ) {
    super(`canary ${id} cannot resume: ${why}`);
  }
}

export class ActiveCanaryExists extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'canary_already_active';

  constructor(flagKey: string, active?: { id: string; state: string }) {
    const which = active ? ` (canary ${active.id}, ${active.state})` : '';
    super(`flag "${flagKey}" already has an active canary${which}; abort or finish it first`);
  }
}

/** The plan cannot run as sent; `details` names each field at fault. */
export class CanaryInvalid extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'canary_invalid';

  constructor(problems: string[]) {
    super(problems.join('; '), { details: problems });
  }
}

export class UnknownCanaryAction extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'canary_action_unknown';

  constructor(action: string, known: readonly string[]) {
    super(`unknown action "${excerpt(action)}"; one of: ${known.join(', ')}`, { param: 'action' });
  }
}
