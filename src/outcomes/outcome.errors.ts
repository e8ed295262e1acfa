import { DatabaseUnavailable } from '../common/database-unavailable';
import { DomainError } from '../common/domain-error';

export class OutcomeMetricNotFound extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'outcome_metric_not_found';

  constructor(key: string) {
    super(`no outcome metric with key "${key}" (GET /api/outcome-metrics lists them)`, { param: 'key' });
  }
}

export class OutcomeMetricExists extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'outcome_metric_exists';

  constructor(key: string, archived: boolean) {
    super(
      archived
        ? `outcome metric "${key}" exists and is archived: keys are never reused, choose another`
        : `outcome metric "${key}" exists already: change it with PATCH /api/outcome-metrics/${key}`,
      { param: 'key' },
    );
  }
}

/** A change the metric cannot take: built-in, archived, or a stale version. */
export class OutcomeMetricConflict extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'outcome_metric_conflict';

  constructor(message: string) {
    super(message);
  }
}

/** An archive refused while something still judges the metric (a canary's outcome gate). */
export class OutcomeMetricInUse extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'outcome_metric_in_use';

  constructor(key: string, users: readonly string[]) {
    super(
      `outcome metric "${key}" is a gate of ${users.join(', ')}: archived, it would take no more events while the canary judges it; end the canary first (abort it, or let it finish)`,
      { param: 'key' },
    );
  }
}

/** A field that cannot be what was asked (e.g. type or unit after creation); each problem names its field. */
export class OutcomeMetricInvalid extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'outcome_metric_invalid';

  constructor(problems: string[]) {
    super(problems.join('; '), { details: problems.length > 1 ? problems : [] });
  }
}

/** One reported outcome event refused (400 or 404), naming what to fix; a batch answers it per event. */
export class OutcomeEventRefused extends DomainError {
  readonly kind: 'invalid' | 'not_found' | 'unavailable';
  readonly code: string;

  constructor(kind: 'invalid' | 'not_found' | 'unavailable', code: string, message: string, param: string | null) {
    super(message, { param, retryAfterSeconds: kind === 'unavailable' ? 1 : undefined });
    this.kind = kind;
    this.code = code;
  }
}

/**
 * An event names an outcome metric this replica's copy of the definitions lacks, and the database
 * cannot be read to check it: it may have been defined on another replica since, so 503 and retry.
 */
export class OutcomeMetricUnverifiable extends DatabaseUnavailable {
  constructor(keys: readonly string[], cause?: unknown) {
    super(
      cause,
      `The outcome metric ${keys.map((key) => `"${key}"`).join(', ')} is not among the definitions this replica has read, and the database cannot be read to check it`,
    );
  }
}
