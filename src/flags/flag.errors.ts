import { DomainError, type DomainErrorKind } from '../common/domain-error';
import { excerpt } from '../common/excerpt';

/** The flags module's refusals, in its own words; the kind decides the HTTP status (domain-error-status.ts). */

export class FlagNotFound extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'flag_not_found';

  constructor(
    readonly key: string,
    detail = 'does not exist',
  ) {
    super(`flag "${excerpt(key)}" ${detail}`);
  }

  /** Evaluation serves only the cache, which holds no archived flag. */
  static notServed(key: string): FlagNotFound {
    return new FlagNotFound(key, 'does not exist or is archived (archived flags are not served)');
  }
}

/** The change was computed on a version that is no longer the flag's: nothing was written. */
export class FlagVersionConflict extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'flag_version_conflict';

  constructor(
    readonly key: string,
    readonly sent: number,
    readonly current: number,
  ) {
    super(
      `version ${sent} is stale: flag "${key}" is at version ${current}; read it again and reapply your change on version ${current}`,
    );
  }
}

export class FlagAlreadyExists extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'flag_already_exists';

  constructor(readonly key: string) {
    super(`key: a flag "${key}" already exists (keys of archived flags are not reused)`);
  }
}

/** The flag as sent (or as it would be after a partial update) is not valid; `details` names each field. */
export class FlagInvalid extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'flag_invalid';

  constructor(problems: string[]) {
    super(problems.join('; '), { details: problems });
  }
}

/**
 * The flag refuses this change whatever its version: it is archived, or the weight asked for leaves
 * no room beside the other variants' weights. A caller moving weights on its own (a canary, the
 * guardrail) catches this one to stop and tell a person, rather than retrying.
 */
export class FlagChangeRefused extends DomainError {
  private constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    details: string[] = [],
  ) {
    super(message, { details });
  }

  static archived(key: string): FlagChangeRefused {
    return new FlagChangeRefused(
      'conflict',
      'flag_archived',
      `flag "${key}" is archived; archived flags cannot change`,
    );
  }

  /** `owner` (a running canary) moves the flag's traffic itself: an operator's change would undo what it judges. */
  static owned(key: string, change: string, owner: string): FlagChangeRefused {
    return new FlagChangeRefused(
      'conflict',
      'flag_owned',
      `cannot ${change} flag "${key}" while ${owner} moves its traffic: pause, abort or finish it first (kill still works)`,
    );
  }

  static unknownVariant(key: string, variant: string): FlagChangeRefused {
    return new FlagChangeRefused('invalid', 'flag_variant_unknown', `flag "${key}" has no variant "${variant}"`);
  }

  /** Weights that do not fit (over 100% in all, not a percentage...), one problem per field. */
  static badWeights(problems: string[]): FlagChangeRefused {
    return new FlagChangeRefused('invalid', 'flag_rollout_refused', problems.join('; '), problems);
  }
}

/**
 * No catalog policy routes by this flag, so whatever it says reaches no request: a canary on it
 * would judge no traffic. Names the policies that exist and their flags.
 */
export class FlagUnused extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'flag_unused';

  constructor(
    readonly key: string,
    policies: ReadonlyArray<{ name: string; flag: string }>,
  ) {
    super(`flag "${key}" is used by no policy, so no request would reach it; ${policiesSentence(policies)}`);
  }
}

/** "policies and their flags: chat → chat-model, ...", for the answers about unused flags. */
export function policiesSentence(policies: ReadonlyArray<{ name: string; flag: string }>): string {
  const listed = policies.map((policy) => `${policy.name} → ${policy.flag}`).join(', ');
  return policies.length === 0
    ? 'the catalog has no policies'
    : `the catalog's policies and their flags: ${listed} (a policy's "flag" in the catalog names the flag it routes by)`;
}
