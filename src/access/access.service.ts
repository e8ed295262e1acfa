import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';
import { NotAuthenticated, ScopeNotGranted } from './access-denied.exception';
import { ApiKeyCache, type CachedApiKey } from './api-key-cache';
import { grants, type AuthenticatedCaller, type Scope } from './scopes';

const BEARER = /^bearer\s+(\S+)\s*$/i;
const CALLER = Symbol('switchyard.caller');

/**
 * The one check of a request's key, used by the global guard (Nest routes) and by the completion pipeline
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
    if (!grants(key.caller.scopes, scope)) throw new ScopeNotGranted(key.caller, scope, action);
    return key;
  }

  /** Every key's name by id, from memory, for reports that show teams rather than ids. */
  keyNames(): Map<string, string> {
    return this.cache.namesById();
  }

  /** A key by id, from memory (revoked ones too); for budgets that name a key. */
  findKey(id: string): CachedApiKey | undefined {
    return this.cache.findById(id);
  }

  /** The key in the header if it is known and not revoked, whatever its scopes; NotAuthenticated otherwise. */
  identify(authorization: string | undefined): CachedApiKey {
    if (!authorization) throw NotAuthenticated.missing();
    const token = BEARER.exec(authorization)?.[1];
    if (!token) throw NotAuthenticated.notBearer();
    const key = this.cache.find(token);
    if (!key) throw NotAuthenticated.unknown();
    if (key.revokedAt) throw NotAuthenticated.revoked(key.caller);
    this.cache.markUsed(key.caller.id);
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
