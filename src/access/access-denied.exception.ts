import { DomainError, type DomainErrorOptions } from '../common/domain-error';

interface AccessDeniedOptions extends Pick<DomainErrorOptions, 'headers' | 'retryAfterSeconds'> {
  /** The key's id when the key is known (revoked, lacking a scope, over its limit): for the metric row. */
  apiKeyId?: string | null;
}

/**
 * A request's key was refused. The kind says how (401 with `WWW-Authenticate: Bearer`, 403, or 429
 * with Retry-After and x-ratelimit-*); `apiKeyId` names the key when it is known, so the request's
 * metric row is attributed to it. The gateway answers these in OpenAI's shape, everything else in the
 * operator shape, both through the one table in domain-error-status.ts.
 */
export abstract class AccessDeniedException extends DomainError {
  readonly apiKeyId: string | null;

  constructor(
    message: string,
    readonly code: string,
    options: AccessDeniedOptions = {},
  ) {
    super(message, options);
    this.apiKeyId = options.apiKeyId ?? null;
  }
}

/** No key, a malformed header, an unknown or a revoked key. */
export class NotAuthenticated extends AccessDeniedException {
  readonly kind = 'unauthenticated';

  constructor(
    message: string,
    code: 'missing_api_key' | 'invalid_api_key' | 'revoked_api_key',
    options: AccessDeniedOptions = {},
  ) {
    super(message, code, options);
  }
}

/** The key is valid but its scopes do not allow this. */
export class ScopeNotGranted extends AccessDeniedException {
  readonly kind = 'forbidden';

  constructor(message: string, apiKeyId: string) {
    super(message, 'insufficient_scope', { apiKeyId });
  }
}

/** The key used up its requests or tokens of the current minute. */
export class KeyLimitReached extends AccessDeniedException {
  readonly kind = 'rate_limited';

  constructor(
    message: string,
    code: 'requests_per_minute_exceeded' | 'tokens_per_minute_exceeded',
    options: Required<AccessDeniedOptions>,
  ) {
    super(message, code, options);
  }
}
