import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { accessConfig, type AccessConfig } from '../config/access.config';
import { ACCESS_RULE, type AccessRule } from './access.decorators';
import { AccessService, attachCaller } from './access.service';

/**
 * The global guard (APP_GUARD) of every Nest route: the key must grant the route's scope. The raw
 * completions entrance (/v1/chat/completions) does not pass through Nest; the pipeline checks it there.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly access: AccessService,
    @Inject(accessConfig.KEY) private readonly config: AccessConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const rule =
      this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
        context.getHandler(),
        context.getClass(),
      ]) ?? {};
    if (rule.public || rule.inHandler || (rule.publicWhen && this.config[rule.publicWhen])) return true;
    const request = context.switchToHttp().getRequest<Request>();
    const scope = rule.scope ?? (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'admin');
    const key = this.access.authenticate(request.headers.authorization, scope, `${request.method} ${request.path}`);
    attachCaller(request, key.caller);
    return true;
  }
}
