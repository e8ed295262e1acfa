import { DomainError, type DomainErrorOptions } from '../common/domain-error';
import type { AuthenticatedCaller, Scope } from './scopes';

interface AccessDeniedOptions extends Pick<DomainErrorOptions, 'headers' | 'retryAfterSeconds'> {
  /** The key's id when the key is known (revoked, lacking a scope, over its limit): for the metric row. */
  apiKeyId?: string | null;
}

/**
 * A request's key was refused. The kind says how (401 with `WWW-Authenticate: Bearer`, 403, or 429
 * with Retry-After and x-ratelimit-*); `apiKeyId` names the key when it is known, so the request's
 * metric row is attributed to it. The gateway answers these in OpenAI's shape, everything else in the
 * operator shape, both through the one table in domain-error-status.ts. Each message says what to do.
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

  static missing(): NotAuthenticated {
    return new NotAuthenticated(
      'No API key: send one as "Authorization: Bearer <key>". A Switchyard admin creates keys with POST /api/keys.',
      'missing_api_key',
    );
  }

  static notBearer(): NotAuthenticated {
    return new NotAuthenticated('The Authorization header must be "Bearer <key>".', 'invalid_api_key');
  }

  static unknown(): NotAuthenticated {
    return new NotAuthenticated(
      'The API key is not valid: check that it was copied whole, or ask a Switchyard admin for a key.',
      'invalid_api_key',
    );
  }

  static revoked(caller: Pick<AuthenticatedCaller, 'id' | 'prefix'>): NotAuthenticated {
    return new NotAuthenticated(
      `The API key ${caller.prefix} was revoked; ask a Switchyard admin for a new one.`,
      'revoked_api_key',
      { apiKeyId: caller.id },
    );
  }

  private constructor(message: string, code: string, options: AccessDeniedOptions = {}) {
    super(message, code, options);
  }
}

/** The key is valid but its scopes do not allow this. */
export class ScopeNotGranted extends AccessDeniedException {
  readonly kind = 'forbidden';

  /** `action` names what was attempted, e.g. `POST /api/flags`. */
  constructor(caller: Pick<AuthenticatedCaller, 'id' | 'prefix' | 'scopes'>, scope: Scope, action: string) {
    super(
      `The API key ${caller.prefix} (scopes: ${caller.scopes.join(', ')}) may not ${action}: that needs the "${scope}" scope` +
        `${scope === 'admin' ? '' : ' (or "admin")'}. Ask a Switchyard admin for a key with it.`,
      'insufficient_scope',
      { apiKeyId: caller.id },
    );
  }
}

/** The key used up its requests or tokens of the current minute. */
export class KeyLimitReached extends AccessDeniedException {
  readonly kind = 'rate_limited';

  constructor(
    caller: Pick<AuthenticatedCaller, 'id' | 'prefix'>,
    exceeded: { requestsPerMinute: number } | { tokensPerMinute: number },
    options: { retryAfterSeconds: number; headers: Record<string, string> },
  ) {
    const what =
      'requestsPerMinute' in exceeded
        ? `${exceeded.requestsPerMinute} requests per minute`
        : `${exceeded.tokensPerMinute} tokens per minute`;
    super(
      `This API key (${caller.prefix}) has used its limit of ${what}; retry after ${options.retryAfterSeconds} s (Retry-After), or ask a Switchyard admin for a higher limit.`,
      'requestsPerMinute' in exceeded ? 'requests_per_minute_exceeded' : 'tokens_per_minute_exceeded',
      { ...options, apiKeyId: caller.id },
    );
  }
}
