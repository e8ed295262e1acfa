import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CodedHttpException } from './coded-http-exception';
import { DomainError } from './domain-error';
import { headersOf, openAiBodyOf, statusOf } from './domain-error-status';
import { OpenAiError, openAiErrorType, writeOpenAiError } from './openai-error';
import { requestIdOf } from './request-id';

/**
 * Maps every error to one body shape: OpenAI's on `/v1/*` (so OpenAI clients parse it), ours
 * elsewhere. Unexpected errors become a 500 that says nothing of internals; the detail goes to the
 * log with the request id.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  constructor(private readonly requestBodyLimit: string) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const requestId = requestIdOf(request);
    if (response.headersSent) {
      response.end();
      return;
    }
    if (exception instanceof OpenAiError) {
      writeOpenAiError(response, exception);
      return;
    }
    if (exception instanceof DomainError) {
      this.answerDomainError(request, response, exception, requestId);
      return;
    }
    // A body that is already a document of its own (Terminus's 503 health report) goes out as it is.
    if (exception instanceof HttpException && isStructuredBody(exception.getResponse())) {
      response.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    const { status, messages } = this.describe(exception, requestId);
    const message = messages.join('; ');
    const coded = exception instanceof CodedHttpException ? exception : undefined;
    if (coded) response.set(coded.headers);
    if (isOpenAiPath(request.path)) {
      response.status(status).json({
        error: { message, type: openAiErrorType(status), code: coded?.code ?? null, param: null },
      });
      return;
    }
    response.status(status).json({
      statusCode: status,
      error: HttpStatus[status] ? titleCase(HttpStatus[status]) : 'Error',
      message,
      ...(messages.length > 1 ? { details: messages } : {}),
      requestId,
    });
  }

  /** A domain error keeps its own code and message; the kind decides the status (domain-error-status.ts). */
  private answerDomainError(request: Request, response: Response, error: DomainError, requestId: string): void {
    const status = statusOf(error);
    response.set(headersOf(error));
    if (isOpenAiPath(request.path)) {
      response.status(status).json(openAiBodyOf(error));
      return;
    }
    response.status(status).json({
      statusCode: status,
      error: HttpStatus[status] ? titleCase(HttpStatus[status]) : 'Error',
      code: error.code,
      message: error.message,
      ...(error.details.length > 0 ? { details: error.details } : {}),
      requestId,
    });
  }

  private describe(exception: unknown, requestId: string): { status: number; messages: string[] } {
    const bodyParserType = (exception as { type?: unknown })?.type;
    if (
      bodyParserType === 'entity.too.large' ||
      (exception instanceof HttpException && exception.getStatus() === 413)
    ) {
      return { status: 413, messages: [`request body is larger than ${this.requestBodyLimit} (REQUEST_BODY_LIMIT)`] };
    }
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const raw = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : body;
      const messages = Array.isArray(raw) ? raw.map(String) : [String(raw ?? exception.message)];
      return { status: exception.getStatus(), messages };
    }
    // Body-parser errors (malformed JSON...) carry their own 4xx status.
    const status = (exception as { status?: unknown })?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message =
        bodyParserType === 'entity.parse.failed'
          ? 'request body is not valid JSON'
          : String((exception as Error).message);
      return { status, messages: [message] };
    }
    this.logger.error({ err: exception, requestId }, 'unhandled error');
    return { status: 500, messages: [`internal error; quote request id ${requestId} when reporting it`] };
  }
}

function isOpenAiPath(path: string): boolean {
  return path.startsWith('/v1/') || path === '/v1';
}

function isStructuredBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !('message' in body);
}

function titleCase(constant: string): string {
  return constant
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}
