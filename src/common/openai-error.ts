import type { ServerResponse } from 'node:http';
import { DomainError } from './domain-error';
import { headersOf, openAiBodyOf, statusOf } from './domain-error-status';

const OPENAI_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  405: 'invalid_request_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
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

/** Everything an OpenAI-shaped error answer consists of. */
export interface OpenAiAnswer {
  status: number;
  headers: Record<string, string>;
  body: { error: OpenAiErrorFields };
}

/**
 * The OpenAI answer for an error whose status and wording are known: a DomainError (through the one
 * table in domain-error-status.ts). Undefined for anything else: an unexpected error, which the
 * caller answers as a 500.
 */
export function openAiAnswerOf(error: unknown): OpenAiAnswer | undefined {
  if (error instanceof DomainError) {
    return { status: statusOf(error), headers: headersOf(error), body: openAiBodyOf(error) };
  }
  return undefined;
}

/**
 * Writes the answer with Node's own response API, so the raw completions entrance and the filter agree.
 * `headers` (a flat name, value list) go first; the answer's own come after them and win.
 */
export function writeOpenAiAnswer(
  res: ServerResponse,
  answer: OpenAiAnswer,
  headers: Array<string | number> = [],
): void {
  const body = JSON.stringify(answer.body);
  const list = [...headers];
  for (const name in answer.headers) list.push(name.toLowerCase(), answer.headers[name]);
  list.push('content-type', 'application/json; charset=utf-8', 'content-length', Buffer.byteLength(body));
  res.writeHead(answer.status, list);
  res.end(body);
}
