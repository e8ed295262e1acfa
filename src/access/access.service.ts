import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';
import { NotAuthenticated, ScopeNotGranted } from './access-denied.exception';
import { ApiKeyCache, type CachedApiKey } from './api-key-cache';
import { grants, type AuthenticatedCaller, type Scope } from './scopes';

const BEARER = /^bearer\s+(\S+)\s*$/i;
const CALLER = Symbol('switchyard.caller');

/**
 * The one check of a request's key, used by the global guard (Nest routes) and by GatewayService
 * (both /v1/chat/completions paths): in memory, one hash and one map lookup.
 */
@Injectable()
export class AccessService {
  constructor(private readonly cache: ApiKeyCache) {}

  /**
   * The key in `Authorization: Bearer <key>` if it is known, not revoked and grants `scope`; throws
   * NotAuthenticated or ScopeNotGranted, saying what to do, otherwise. `action` names what was attempted, for the 403.
   */
  authenticate(authorization: string | undefined, scope: Scope, action: string): CachedApiKey {
    const key = this.identify(authorization);
    const { caller } = key;
    if (!grants(caller.scopes, scope)) {
      throw new ScopeNotGranted(
        `The API key ${caller.prefix} (scopes: ${caller.scopes.join(', ')}) may not ${action}: that needs the "${scope}" scope ` +
          `(or "admin"). Ask a Switchyard admin for a key with it.`,
        caller.id,
      );
    }
    return key;
  }

  /** The key in the header if it is known and not revoked, whatever its scopes; NotAuthenticated otherwise. */
  identify(authorization: string | undefined): CachedApiKey {
    if (!authorization) {
      throw new NotAuthenticated(
        'No API key: send one as "Authorization: Bearer <key>". A Switchyard admin creates keys with POST /api/keys.',
        'missing_api_key',
      );
    }
    const token = BEARER.exec(authorization)?.[1];
    if (!token) {
      throw new NotAuthenticated('The Authorization header must be "Bearer <key>".', 'invalid_api_key');
    }
    const key = this.cache.find(token);
    if (!key) {
      throw new NotAuthenticated(
        'The API key is not valid: check that it was copied whole, or ask a Switchyard admin for a key.',
        'invalid_api_key',
      );
    }
    const { caller } = key;
    if (key.revokedAt) {
      throw new NotAuthenticated(
        `The API key ${caller.prefix} was revoked; ask a Switchyard admin for a new one.`,
        'revoked_api_key',
        { apiKeyId: caller.id },
      );
    }
    this.cache.markUsed(caller.id);
    return key;
  }
}

/** Remembers the caller on the request, for `@Caller()`. */
export function attachCaller(req: IncomingMessage, caller: AuthenticatedCaller): void {
  (req as IncomingMessage & { [CALLER]?: AuthenticatedCaller })[CALLER] = caller;
}

export function callerOf(req: IncomingMessage): AuthenticatedCaller | undefined {
  return (req as IncomingMessage & { [CALLER]?: AuthenticatedCaller })[CALLER];
}
