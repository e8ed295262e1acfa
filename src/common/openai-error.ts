import type { ServerResponse } from 'node:http';
import { HttpException } from '@nestjs/common';
import { CodedHttpException } from './coded-http-exception';
import { DomainError } from './domain-error';
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
 * Messages must never contain upstream keys, hostnames or stack traces. Domain code throws
 * DomainErrors instead; this remains for errors raised inside Nest's own request handling.
 */
export class OpenAiError extends HttpException {
  constructor(
    status: number,
    readonly fields: OpenAiErrorFields,
    readonly headers: Record<string, string> = {},
  ) {
    super(fields, status);
  }
}

/** Everything an OpenAI-shaped error answer consists of. */
export interface OpenAiAnswer {
  status: number;
  headers: Record<string, string>;
  body: { error: OpenAiErrorFields };
}

/**
 * The OpenAI answer for an error whose status and wording are known: a DomainError (through the one
 * table in domain-error-status.ts) or a coded HTTP exception (kept until every module throws
 * DomainErrors). Undefined for anything else: an unexpected error, which the caller answers as a 500.
 */
export function openAiAnswerOf(error: unknown): OpenAiAnswer | undefined {
  if (error instanceof DomainError) {
    return { status: statusOf(error), headers: headersOf(error), body: openAiBodyOf(error) };
  }
  if (error instanceof OpenAiError) {
    return { status: error.getStatus(), headers: error.headers, body: { error: error.fields } };
  }
  if (error instanceof CodedHttpException) {
    const status = error.getStatus();
    const message = (error.getResponse() as { message: string }).message;
    return {
      status,
      headers: error.headers,
      body: { error: { message, type: openAiErrorType(status), code: error.code, param: null } },
    };
  }
  return undefined;
}

/** Writes the answer with Node's own response API, so the raw completions entrance and the filter agree. */
export function writeOpenAiAnswer(res: ServerResponse, answer: OpenAiAnswer): void {
  const body = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...answer.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Writes an OpenAiError (HttpExceptionFilter's path for /v1 routes served by Nest). */
export function writeOpenAiError(res: ServerResponse, error: OpenAiError): void {
  writeOpenAiAnswer(res, { status: error.getStatus(), headers: error.headers, body: { error: error.fields } });
}
