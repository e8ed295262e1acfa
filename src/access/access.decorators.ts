import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiOpenAiError, ApiOperatorError } from '../common/api-error-responses';
import type { AccessConfig } from '../config/access.config';
import { NotAuthenticated, ScopeNotGranted } from './access-denied.exception';
import type { Scope } from './scopes';

export const ACCESS_RULE = 'switchyard:access';

/**
 * How AccessGuard treats a route. Without a rule: GET and HEAD need `read`, everything else `admin`,
 * so a new controller is protected before anyone thinks of it.
 */
export interface AccessRule {
  public?: boolean;
  scope?: Scope;
  /** A setting that, when true, opens the route to callers without a key (PROMETHEUS_PUBLIC). */
  publicWhen?: keyof Pick<AccessConfig, 'prometheusPublic'>;
  /** The handler authenticates itself (the completion pipeline: so refusals get their metric row too). */
  inHandler?: boolean;
}

const EXAMPLE_KEY = { id: '0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b', prefix: 'sy_k3j5n2m8q1' };

/** The shape a route answers errors in: OpenAI's on /v1 (gateway scope), the operator's elsewhere. */
const errorDoc = (scope: Scope | undefined) => (scope === 'gateway' ? ApiOpenAiError : ApiOperatorError);

const unauthorized = (scope?: Scope) =>
  errorDoc(scope)(
    'No API key, or an unknown or revoked one (`WWW-Authenticate: Bearer`)',
    NotAuthenticated.missing(),
    NotAuthenticated.unknown(),
    NotAuthenticated.revoked(EXAMPLE_KEY),
  );

/** What a key without `scope` is refused, with a typical attempt. */
const refusal = (scope: Scope): ScopeNotGranted => {
  const attempt: Record<Scope, { has: Scope; action: string }> = {
    gateway: { has: 'read', action: 'POST /v1/chat/completions' },
    read: { has: 'gateway', action: 'GET /api/metrics/summary' },
    admin: { has: 'read', action: 'POST /api/keys' },
  };
  return new ScopeNotGranted({ ...EXAMPLE_KEY, scopes: [attempt[scope].has] }, scope, attempt[scope].action);
};

/** No key needed (health probes). */
export const Public = () => SetMetadata(ACCESS_RULE, { public: true } satisfies AccessRule);

/** Documents the bearer scheme; the scope follows the HTTP method (GET/HEAD: read; changes: admin). */
export const ScopeByMethod = () =>
  applyDecorators(
    ApiBearerAuth(),
    unauthorized(),
    ApiOperatorError('The key lacks the scope: `read` for GET, `admin` for changes', refusal('read'), refusal('admin')),
  );

/** Every route here needs `scope` (admin implies every scope). */
export const RequireScope = (scope: Scope, options: Pick<AccessRule, 'publicWhen'> = {}) =>
  applyDecorators(
    SetMetadata(ACCESS_RULE, { scope, ...options } satisfies AccessRule),
    ApiBearerAuth(),
    unauthorized(scope),
    errorDoc(scope)(`The key lacks the \`${scope}\` scope`, refusal(scope)),
  );

/**
 * On a route of a `RequireScope` controller: the handler checks the key itself through AccessService
 * (the completion pipeline, so that refusals get their metric row like every other request).
 */
export const AuthenticatedInHandler = (scope: Scope) =>
  SetMetadata(ACCESS_RULE, { scope, inHandler: true } satisfies AccessRule);
