import { DomainError } from '../common/domain-error';
import { dollars } from '@switchyard/stats';
import { formatPico, usdNumberOf } from '../metrics/cost';
import type { BudgetDefinition } from './budget.types';

/**
 * How a budget is named in messages, alerts and logs: as a person finds it — its scope, its target's
 * name, period and limit, e.g. `policy budget "fraud" (day, $1; id …)` — and by its id.
 */
export function budgetName(
  budget: Pick<BudgetDefinition, 'id' | 'scope' | 'targetName' | 'period' | 'timezone' | 'limitPico'>,
): string {
  const period =
    budget.period === 'total' || budget.timezone === 'UTC' ? budget.period : `${budget.period} in ${budget.timezone}`;
  return `${budget.scope} budget "${budget.targetName}" (${period}, ${dollarsOf(budget.limitPico)}; id ${budget.id})`;
}

/** Picodollars as people read them in messages, alerts and logs: $12,345.68, $0.000146 (`dollars`). */
export function dollarsOf(pico: bigint): string {
  return dollars(usdNumberOf(pico));
}

/**
 * Two amounts a sentence compares ("costs up to A and B is left"): as `dollarsOf`, unless that
 * rounds two different amounts to the same text ("$0.262 exceeds the $0.262 left"), then both exact.
 */
export function dollarsApart(a: bigint, b: bigint): [string, string] {
  const short: [string, string] = [dollarsOf(a), dollarsOf(b)];
  if (a === b || short[0] !== short[1]) return short;
  return [`$${exactUsd(a)}`, `$${exactUsd(b)}`];
}

/** Picodollars as their exact decimal without trailing zeros (0.0002): for keys, not for people. */
export function exactUsd(pico: bigint): string {
  const text = formatPico(pico);
  return text.replace(/0+$/, '').replace(/\.$/, '');
}

/**
 * A spend budget of the request is used up (spent + reserved ≥ limit, or this request's worst case
 * does not fit): 429 with OpenAI's `insufficient_quota` code, the budget named, and when it resets.
 */
export class BudgetExhausted extends DomainError {
  readonly kind = 'quota_exhausted';
  readonly code = 'insufficient_quota';

  constructor(
    readonly budgetId: string,
    message: string,
    retryAfterSeconds: number | undefined,
  ) {
    super(message, {
      retryAfterSeconds,
      headers: { 'x-switchyard-budget': budgetId, 'x-switchyard-budget-action': 'reject' },
    });
  }
}

/**
 * The replica cannot tell whether a budget has room: its lease expired and Postgres does not answer.
 * A budget never spends on a guess; requests without budgets are served as usual.
 */
export class BudgetUnavailable extends DomainError {
  readonly kind = 'unavailable';
  readonly code = 'budget_unavailable';

  constructor(
    readonly budgetId: string,
    description: string,
  ) {
    super(`The spend of ${description} cannot be checked right now (the database does not answer); retry shortly.`, {
      retryAfterSeconds: 5,
    });
  }
}

export class BudgetNotFound extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'budget_not_found';

  constructor(id: string) {
    super(`no budget with id ${id}`, { param: 'id' });
  }
}

/** What the budget names does not exist or cannot carry this budget; each problem names its field. */
export class BudgetInvalid extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'budget_invalid';

  constructor(problems: string[]) {
    super(problems.join('; '), { details: problems.length > 1 ? problems : [] });
  }
}

/** The change or deletion was based on a version that is no longer the budget's: nothing was written. */
export class BudgetVersionConflict extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'budget_version_conflict';

  /** `name`: the budget as budgetName writes it, as it stands now. */
  constructor(name: string, sent: number, current: number, action: 'change' | 'delete') {
    const then =
      action === 'change'
        ? `read it again and reapply your change on version ${current}`
        : `read it again, and send version ${current} to delete it as it is now`;
    super(`version ${sent} is stale: ${name} is at version ${current}; ${then}`, { param: 'version' });
  }
}

export class BudgetExists extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'budget_exists';

  constructor(existingId: string, scope: string, target: string, period: string) {
    super(
      `a ${period} budget for ${scope} ${target} exists already (${existingId}): change its limit with PATCH /api/budgets/${existingId}`,
    );
  }
}
