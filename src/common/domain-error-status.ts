import { HttpStatus } from '@nestjs/common';
import type { DomainError, DomainErrorKind } from './domain-error';

/** The one table from a domain error's kind to its HTTP status and OpenAI error `type`. */
export const DOMAIN_ERROR_HTTP: Record<DomainErrorKind, { status: number; openAiType: string }> = {
  invalid: { status: 400, openAiType: 'invalid_request_error' },
  unauthenticated: { status: 401, openAiType: 'authentication_error' },
  forbidden: { status: 403, openAiType: 'permission_error' },
  not_found: { status: 404, openAiType: 'invalid_request_error' },
  method_not_allowed: { status: 405, openAiType: 'invalid_request_error' },
  conflict: { status: 409, openAiType: 'invalid_request_error' },
  request_timeout: { status: 408, openAiType: 'invalid_request_error' },
  too_large: { status: 413, openAiType: 'invalid_request_error' },
  unsupported_media: { status: 415, openAiType: 'invalid_request_error' },
  rate_limited: { status: 429, openAiType: 'rate_limit_error' },
  quota_exhausted: { status: 429, openAiType: 'insufficient_quota' },
  upstream_failed: { status: 502, openAiType: 'api_error' },
  unavailable: { status: 503, openAiType: 'api_error' },
  upstream_timeout: { status: 504, openAiType: 'api_error' },
};

export function statusOf(error: DomainError): number {
  return error.relayed?.status ?? DOMAIN_ERROR_HTTP[error.kind].status;
}

/** Headers of the answer: the case's own, Retry-After when known, WWW-Authenticate on 401. */
export function headersOf(error: DomainError): Record<string, string> {
  const headers: Record<string, string> = { ...error.headers };
  if (error.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
  if (error.kind === 'unauthenticated') headers['www-authenticate'] = 'Bearer realm="switchyard"';
  return headers;
}

/** OpenAI's `{ error: { message, type, code, param } }`, for /v1/* callers. */
export function openAiBodyOf(error: DomainError): {
  error: { message: string; type: string; code: string | null; param: string | null };
} {
  const relayed = error.relayed;
  return {
    error: {
      message: error.message,
      type: relayed ? relayed.openAiType : DOMAIN_ERROR_HTTP[error.kind].openAiType,
      code: relayed ? relayed.code : error.code,
      param: error.param,
    },
  };
}

/** The operator API's error body (ApiErrorDto), for /api/* and every other non-/v1 route. */
export function operatorBodyOf(
  error: DomainError,
  requestId: string,
): { statusCode: number; error: string; code: string; message: string; details?: string[]; requestId: string } {
  const status = statusOf(error);
  return {
    statusCode: status,
    error: reasonPhraseOf(status),
    code: error.code,
    message: error.message,
    ...(error.details.length > 0 ? { details: error.details } : {}),
    requestId,
  };
}

/** "Not Found" for 404, as the operator body's `error` field says it. */
export function reasonPhraseOf(status: number): string {
  const constant = HttpStatus[status];
  if (!constant) return 'Error';
  return constant
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}
