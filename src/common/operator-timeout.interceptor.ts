import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { catchError, type Observable, throwError, timeout, TimeoutError } from 'rxjs';
import { DatabaseNotAnswering } from './database-unavailable';

/**
 * Bounds how long an operator request (`/api`, and `/v1/outcomes`, which reads the request rows)
 * may wait: a database that hangs rather than refuses leaves its queries unanswered, pg has no
 * bound of its own, and the caller would wait for as long as the database does. After
 * OPERATOR_TIMEOUT_MS the caller gets the database_unavailable 503 every such route documents.
 * Completions and the in-memory routes (/v1/models, OFREP, /metrics, health) are not bounded here:
 * a stream may rightly last minutes, and the others do not wait on the database.
 */
@Injectable()
export class OperatorTimeoutInterceptor implements NestInterceptor {
  constructor(private readonly timeoutMs: number) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const path = context.switchToHttp().getRequest<Request>().path;
    if (!path.startsWith('/api/') && path !== '/v1/outcomes') return next.handle();
    return next.handle().pipe(
      timeout({ first: this.timeoutMs }),
      catchError((error: unknown) =>
        throwError(() => (error instanceof TimeoutError ? new DatabaseNotAnswering(this.timeoutMs) : error)),
      ),
    );
  }
}
