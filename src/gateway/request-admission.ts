import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { CachedApiKey } from '../access/api-key-cache';
import type { AuthenticatedCaller } from '../access/scopes';
import { UsageLimiter } from '../access/usage-limiter';
import type { Route } from '../routing/routing.service';
import { PolicyNotAllowed } from './gateway.errors';

export interface Admitted {
  key: CachedApiKey;
  /** x-ratelimit-* for a key with limits: they go on every answer, errors included. */
  rateLimitHeaders: Record<string, string> | undefined;
}

/**
 * Who may call, and how much: the key must grant `gateway` and be within its per-key limits
 * (checked in memory, before the body is read), and a key limited to some policies may route only
 * through them. Refusals are thrown as they come from access/ (401, 403, 429 with Retry-After).
 */
@Injectable()
export class RequestAdmission {
  constructor(
    private readonly access: AccessService,
    private readonly limiter: UsageLimiter,
  ) {}

  admit(authorization: string | undefined): Admitted {
    const key = this.access.authenticate(authorization, 'gateway', 'call /v1/chat/completions');
    const admission = this.limiter.admit(key);
    return { key, rateLimitHeaders: admission?.headers };
  }

  /** A concrete model bypasses policies, so a policy-limited key is refused it too. */
  allowRoute(caller: AuthenticatedCaller, route: Route): void {
    const allowed = caller.policies;
    if (!allowed || (route.policy !== null && allowed.includes(route.policy))) return;
    const use = `use one of ${allowed.map((name) => `route:${name}`).join(', ')} (or header x-switchyard-policy)`;
    const message =
      route.policy === null
        ? `The API key ${caller.prefix} may only use the policies ${allowed.join(', ')}, not a concrete model: ${use}.`
        : `The API key ${caller.prefix} may not use the policy ${route.policy}: ${use}, or ask a Switchyard admin for a key that allows it.`;
    throw new PolicyNotAllowed(message, route.policy === null);
  }

  /** The tokens a finished request used count against its key's tokens-per-minute limit. */
  settle(key: CachedApiKey, tokens: number): void {
    this.limiter.addTokens(key, tokens);
  }
}
