import { DomainError } from '../common/domain-error';

export class ApiKeyNotFound extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'api_key_not_found';

  constructor(id: string) {
    super(`no API key with id ${id}`, { param: 'id' });
  }
}

export class ApiKeyAlreadyRevoked extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'api_key_already_revoked';

  constructor(prefix: string, revokedAt: Date | null) {
    super(`API key ${prefix} was already revoked at ${revokedAt?.toISOString()}`);
  }
}

/** A key limited to policies the catalog does not have: it could never be used. */
export class UnknownPolicies extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'unknown_policy';

  constructor(unknown: string[], known: string[]) {
    const problems = unknown.map(
      (name) => `policies: unknown policy "${name}" (catalog policies: ${known.join(', ')})`,
    );
    super(problems.join('; '), { param: 'policies', details: problems.length > 1 ? problems : [] });
  }
}
