import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ApiErrorDto, OpenAiErrorDto } from '../common/api-error.dto';
import type { AccessConfig } from '../config/access.config';
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
  /** The handler authenticates itself (GatewayService: so refusals get their metric row too). */
  inHandler?: boolean;
}

const unauthorized = (type: typeof ApiErrorDto | typeof OpenAiErrorDto) =>
  ApiUnauthorizedResponse({
    type,
    description: 'No API key, or an unknown or revoked one (`WWW-Authenticate: Bearer`)',
  });

/** No key needed (health probes). */
export const Public = () => SetMetadata(ACCESS_RULE, { public: true } satisfies AccessRule);

/** Documents the bearer scheme; the scope follows the HTTP method (GET/HEAD: read; changes: admin). */
export const ScopeByMethod = () =>
  applyDecorators(
    ApiBearerAuth(),
    unauthorized(ApiErrorDto),
    ApiForbiddenResponse({
      type: ApiErrorDto,
      description: 'The key lacks the scope: `read` for GET, `admin` for changes',
    }),
  );

/** Every route here needs `scope` (admin implies every scope). */
export const RequireScope = (scope: Scope, options: Pick<AccessRule, 'publicWhen'> = {}) => {
  const type = scope === 'gateway' ? OpenAiErrorDto : ApiErrorDto;
  return applyDecorators(
    SetMetadata(ACCESS_RULE, { scope, ...options } satisfies AccessRule),
    ApiBearerAuth(),
    unauthorized(type),
    ApiForbiddenResponse({ type, description: `The key lacks the \`${scope}\` scope` }),
  );
};

/**
 * On a route of a `RequireScope` controller: the handler checks the key itself through AccessService
 * (GatewayService, so that refusals get their metric row like every other request).
 */
export const AuthenticatedInHandler = (scope: Scope) =>
  SetMetadata(ACCESS_RULE, { scope, inHandler: true } satisfies AccessRule);
