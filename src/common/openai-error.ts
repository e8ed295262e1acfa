import type { ServerResponse } from 'node:http';
import { HttpException } from '@nestjs/common';
import type { DomainError } from './domain-error';
import { headersOf, openAiBodyOf, statusOf } from './domain-error-status';

const OPENAI_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
};

/** OpenAI's error `type` for an HTTP status. */
export function openAiErrorType(status: number): string {
  return OPENAI_ERROR_TYPES[status] ?? 'api_error';
}

export interface OpenAiErrorFields {
  message: string;
  type: string;
  code: string | null;
  param: string | null;
}

/**
 * An error answered to `/v1/*` callers in OpenAI's shape, with optional headers (Retry-After).
 * Messages must never contain upstream keys, hostnames or stack traces.
 */
export class OpenAiError extends HttpException {
  constructor(
    status: number,
    readonly fields: OpenAiErrorFields,
    readonly headers: Record<string, string> = {},
  ) {
    super(fields, status);
  }

  static invalidRequest(message: string, param: string | null = null, code: string | null = null): OpenAiError {
    return new OpenAiError(400, { message, type: 'invalid_request_error', code, param });
  }

  /** A domain error (message, code, headers) in OpenAI's shape, for the gateway's own error path. */
  static from(error: DomainError): OpenAiError {
    return new OpenAiError(statusOf(error), openAiBodyOf(error).error, headersOf(error));
  }

  static notFound(message: string, param: string | null, code: string): OpenAiError {
    return new OpenAiError(404, { message, type: 'invalid_request_error', code, param });
  }
}

/** Writes the error with Node's own response API, so the gateway's raw fast path and the filter agree. */
export function writeOpenAiError(res: ServerResponse, error: OpenAiError): void {
  const body = JSON.stringify({ error: error.fields });
  res.writeHead(error.getStatus(), {
    ...error.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
