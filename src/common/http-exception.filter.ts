import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { databaseUnavailableFrom } from './database-unavailable';
import { DomainError } from './domain-error';
import { headersOf, openAiBodyOf, operatorBodyOf, reasonPhraseOf, statusOf } from './domain-error-status';
import { openAiErrorType } from './openai-error';
import {
  InvalidInput,
  InvalidJson,
  MalformedPathEncoding,
  RequestTooLarge,
  UnsupportedContentType,
} from './request-errors';
import { requestIdOf } from './request-id';
import type { RouteIndex } from './route-index';

/**
 * Maps every error to one body shape: OpenAI's on `/v1/*` (so OpenAI clients parse it), ours
 * elsewhere. Domain errors keep their code and message; errors that are a domain case in disguise
 * (a body the parser refused, a database that cannot be reached) are translated into one first.
 * Unexpected errors become a 500 that says nothing of internals; the detail goes to the log with the
 * request id.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  constructor(
    private readonly requestBodyLimit: string,
    private readonly routes: RouteIndex,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const requestId = requestIdOf(request);
    if (response.headersSent) {
      response.end();
      return;
    }
    const domainError = exception instanceof DomainError ? exception : this.translate(exception, request, requestId);
    if (domainError) {
      this.answerDomainError(request, response, domainError, requestId);
      return;
    }
    // A body that is already a document of its own (Terminus's 503 health report) goes out as it is.
    if (exception instanceof HttpException && isStructuredBody(exception.getResponse())) {
      response.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    const { status, messages } = this.describe(exception, requestId);
    const message = messages.join('; ');
    if (isOpenAiPath(request.path)) {
      response.status(status).json({ error: { message, type: openAiErrorType(status), code: null, param: null } });
      return;
    }
    response.status(status).json({
      statusCode: status,
      error: reasonPhraseOf(status),
      message,
      ...(messages.length > 1 ? { details: messages } : {}),
      requestId,
    });
  }

  /** A domain error keeps its own code and message; the kind decides the status (domain-error-status.ts). */
  private answerDomainError(request: Request, response: Response, error: DomainError, requestId: string): void {
    response.set(headersOf(error));
    const body = isOpenAiPath(request.path) ? openAiBodyOf(error) : operatorBodyOf(error, requestId);
    response.status(statusOf(error)).json(body);
  }

  private translate(exception: unknown, request: Request, requestId: string): DomainError | undefined {
    // Nest's answer when no route matched ("Cannot GET /x"): say what is served instead.
    if (
      exception instanceof NotFoundException &&
      exception.message === `Cannot ${request.method} ${request.originalUrl}`
    )
      return this.routes.refusal(request.method, request.path);
    // Express's adapter wraps body-parser errors in a BadRequestException whose cause is the parser's
    // error, or the domain error its `verify` threw (checkJsonBeforeParse).
    const cause = (exception as { cause?: unknown } | null)?.cause;
    if (cause instanceof DomainError) return cause;
    // Express's router could not decode a path parameter's %-escapes: the adapter wraps the router's
    // URIError (told by its name: it comes from another realm in tests) in a bare BadRequestException.
    const undecodable = [exception, cause].some((error) => (error as { name?: unknown } | null)?.name === 'URIError');
    if (undecodable && exception instanceof HttpException && exception.getStatus() === 400) {
      const segment = /^Failed to decode param '(.*)'$/s.exec(exception.message)?.[1];
      return new MalformedPathEncoding(segment ?? request.path);
    }
    const bodyParserType = [exception, cause]
      .map((error) => (error as { type?: unknown } | null)?.type)
      .find((type) => typeof type === 'string');
    if (bodyParserType === 'entity.parse.failed') {
      // body-parser (strict) refuses a bare "x", 123 or null like broken JSON; say what is wrong with it.
      const raw = [exception, cause].map((error) => (error as { body?: unknown } | null)?.body).find(isString);
      return raw !== undefined && isJsonScalar(raw)
        ? new InvalidInput(['the request body must be a JSON object'])
        : new InvalidJson();
    }
    if (bodyParserType === 'charset.unsupported')
      return new UnsupportedContentType(request.headers['content-type'] ?? '');
    if (
      bodyParserType === 'entity.too.large' ||
      (exception instanceof HttpException && exception.getStatus() === 413)
    ) {
      return new RequestTooLarge(this.requestBodyLimit);
    }
    const unavailable = databaseUnavailableFrom(exception);
    if (unavailable) {
      this.logger.warn(
        { requestId, cause: (exception as Error)?.message },
        'database unavailable; answered 503 with Retry-After',
      );
    }
    return unavailable;
  }

  private describe(exception: unknown, requestId: string): { status: number; messages: string[] } {
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const raw = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : body;
      const messages = Array.isArray(raw) ? raw.map(String) : [String(raw ?? exception.message)];
      return { status: exception.getStatus(), messages };
    }
    // Other body-parser errors (unsupported charset or encoding, an aborted upload) carry their own 4xx.
    const status = (exception as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return { status, messages: [String((exception as Error).message)] };
    }
    this.logger.error({ err: exception, requestId }, 'unhandled error');
    return { status: 500, messages: [`internal error; quote request id ${requestId} when reporting it`] };
  }
}

/** An OpenAI client's URL, however many slashes lead it (`//v1/...` from a base URL ending in a slash). */
function isOpenAiPath(path: string): boolean {
  const trimmed = path.replace(/^\/+/, '/');
  return trimmed.startsWith('/v1/') || trimmed === '/v1';
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

/** Valid JSON that is no object or list: a string, number, true, false or null. */
function isJsonScalar(text: string): boolean {
  const start = text.trimStart()[0];
  if (start === undefined || start === '{' || start === '[') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function isStructuredBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !('message' in body);
}
