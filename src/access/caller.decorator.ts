import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { callerOf } from './access.service';

/**
 * The API key that authenticated the request (`AuthenticatedCaller`): `@Caller() caller`. Use
 * `caller.actor` as the actor of history rows. Undefined only on public routes.
 */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  callerOf(context.switchToHttp().getRequest<Request>()),
);
