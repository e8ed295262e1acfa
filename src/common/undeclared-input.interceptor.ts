import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { InvalidInput } from './request-errors';
import { capped, notAField } from './validation';

interface RouteArgument {
  index: number;
  data?: unknown;
}

/** What a route reads of the request, from its handler's parameter decorators. */
interface RouteInput {
  /** The query parameters it accepts; `any` for a whole query DTO (its ValidationPipe names unknown ones). */
  query: Set<string> | 'any';
  /** Whether it has a `@Body`, whose DTO and ValidationPipe say what the body may hold. */
  body: boolean;
}

/**
 * A query parameter or a body a route does not read is refused, as a DTO's unknown field is:
 * `?limit=5` on a route without paging, or `{"force": true}` on a DELETE, would otherwise be ignored
 * without a word, and the caller would believe it worked. Routes that take a whole query DTO
 * (`@Query() q: SomeQuery`) or a body (`@Body()`) are left to the ValidationPipe, which names unknown
 * fields the same way; routes with named parameters (`@Query('name')`) accept those names only;
 * routes without `@Query` accept none, and routes without `@Body` no body but none or `{}`. Only the
 * operator API (`/api`): health probes and `/v1` clients may add cache-busting parameters.
 */
@Injectable()
export class UndeclaredInputInterceptor implements NestInterceptor {
  private readonly inputByHandler = new WeakMap<object, RouteInput>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<Request>();
      if (request.path.startsWith('/api/')) {
        const input = this.inputOf(context);
        const problems = [...queryProblems(request, input), ...(input.body ? [] : bodyProblems(request.body))];
        if (problems.length > 0) throw new InvalidInput(capped(problems));
      }
    }
    return next.handle();
  }

  private inputOf(context: ExecutionContext): RouteInput {
    const handler = context.getHandler();
    let input = this.inputByHandler.get(handler);
    if (input === undefined) {
      const args = Object.entries(
        (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {}) as Record<
          string,
          RouteArgument
        >,
      );
      const ofType = (type: RouteParamtypes) =>
        args.filter(([key]) => Number(key.split(':')[0]) === type).map(([, argument]) => argument.data);
      const queryArgs = ofType(RouteParamtypes.QUERY);
      input = {
        query: queryArgs.some((data) => typeof data !== 'string')
          ? 'any'
          : new Set(queryArgs.filter((data): data is string => typeof data === 'string')),
        body: ofType(RouteParamtypes.BODY).length > 0,
      };
      this.inputByHandler.set(handler, input);
    }
    return input;
  }
}

function queryProblems(request: Request, input: RouteInput): string[] {
  const { query } = input;
  if (query === 'any') return [];
  return Object.keys(request.query ?? {})
    .filter((name) => !query.has(name))
    .map(notAField);
}

/** None, or `{}` (what many clients send by default), is no body; anything else would be ignored. */
function bodyProblems(body: unknown): string[] {
  if (body === undefined) return [];
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return ['this request takes no body; send none, or {}'];
  return Object.keys(body).map(notAField);
}
