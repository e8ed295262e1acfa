import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { InvalidInput } from './request-errors';

interface RouteArgument {
  index: number;
  data?: unknown;
}

/**
 * A query parameter a route does not read is refused, as a DTO's unknown field is: `?limit=5` on a
 * route without paging would otherwise be ignored without a word, and the caller would believe it
 * worked. Routes that take a whole query DTO (`@Query() q: SomeQuery`) are left to the
 * ValidationPipe, which names unknown fields the same way; routes with named parameters
 * (`@Query('name')`) accept those names only; routes without `@Query` accept none. Only the
 * operator API (`/api`): health probes and `/v1` clients may add cache-busting parameters.
 */
@Injectable()
export class UndeclaredQueryInterceptor implements NestInterceptor {
  private readonly allowedByHandler = new WeakMap<object, Set<string> | 'any'>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<Request>();
      const names = request.path.startsWith('/api/') ? Object.keys(request.query ?? {}) : [];
      if (names.length > 0) {
        const allowed = this.allowedFor(context);
        const unknown = allowed === 'any' ? [] : names.filter((name) => !allowed.has(name));
        if (unknown.length > 0)
          throw new InvalidInput(unknown.map((name) => `${name} is not a field of this request; remove it`));
      }
    }
    return next.handle();
  }

  private allowedFor(context: ExecutionContext): Set<string> | 'any' {
    const handler = context.getHandler();
    let allowed = this.allowedByHandler.get(handler);
    if (allowed === undefined) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {}) as Record<
        string,
        RouteArgument
      >;
      const queryArgs = Object.entries(args)
        .filter(([key]) => Number(key.split(':')[0]) === RouteParamtypes.QUERY)
        .map(([, argument]) => argument.data);
      allowed = queryArgs.some((data) => typeof data !== 'string')
        ? 'any'
        : new Set(queryArgs.filter((data): data is string => typeof data === 'string'));
      this.allowedByHandler.set(handler, allowed);
    }
    return allowed;
  }
}
