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

/** Revoking it would leave no admin key: nobody could create keys or change anything any more. */
export class LastAdminKey extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'last_admin_key';

  constructor(prefix: string) {
    super(
      `API key ${prefix} is the last admin key not revoked; without it nobody could manage Switchyard: create another admin key (POST /api/keys) first, then revoke this one`,
    );
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

/** Limits on completions given to a key that cannot make any: they would look like a guard and be none. */
export class LimitsWithoutGateway extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'limits_without_gateway';

  constructor(fields: string[], scopes: readonly string[]) {
    const named = fields.length === 1 ? fields[0] : `${fields.slice(0, -1).join(', ')} and ${fields.at(-1)}`;
    super(
      `${named} ${fields.length === 1 ? 'limits' : 'limit'} chat completions, which a key without the gateway scope (scopes: ${scopes.join(', ')}) cannot make: add gateway to scopes, or leave ${fields.length === 1 ? 'it' : 'them'} out`,
      { param: fields[0] },
    );
  }
}

/**
 * An admin key limited to policies: the limit would be a fiction, since an admin key changes every
 * flag and canary and creates keys, among them one without the limit.
 */
export class AdminKeyWithPolicies extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'admin_key_with_policies';

  constructor() {
    super(
      'policies limit what a key may call through the gateway; an admin key manages every policy and creates keys (one without the limit too), so it cannot be limited: leave out admin, or policies',
      { param: 'policies' },
    );
  }
}
