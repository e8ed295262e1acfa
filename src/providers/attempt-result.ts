import { parseRetryAfterMs } from '@switchyard/retry';
import type { CatalogProvider } from '../config/catalog.schema';
import { PARSED_OFF_LOOP_FROM_BYTES } from './answer-parser';
import type { UpstreamJsonAnswer, UpstreamStreamAnswer } from './upstream';
import { isInvalidRequestStatus, type UpstreamErrorBody, type UpstreamFailureKind } from './upstream-failure';

/** How one attempt at one model ended. */
export type AttemptResult =
  | { ok: true; answer: Omit<UpstreamJsonAnswer, 'attempts'> | Omit<UpstreamStreamAnswer, 'attempts'> }
  | {
      ok: false;
      kind: UpstreamFailureKind;
      message: string;
      status?: number;
      retryAfterMs?: number;
      upstreamError?: UpstreamErrorBody;
    };

/** An upstream message longer than this is cut in the log. */
const MAX_LOGGED_MESSAGE = 500;

/** Only the error code: never the request, which carries our key. */
export function networkFailure(provider: CatalogProvider, error: unknown): AttemptResult {
  const code = (error as { code?: string }).code ?? 'request failed';
  return { ok: false, kind: 'network', message: `could not reach provider ${provider.id} (${code})` };
}

/**
 * Answers (even errors) prove the model reachable; only 5xx, timeouts and broken connections count
 * against it. A request the provider calls invalid says nothing about the model either way, so it
 * is not recorded at all: it must not dilute the failures of a window nor break a run of them.
 */
export function recordHealth(breaker: { recordSuccess(): void; recordFailure(): void }, result: AttemptResult): void {
  if (result.ok) return breaker.recordSuccess();
  if (result.kind === 'invalid_request') return;
  const unhealthy = result.kind === 'network' || result.kind === 'timeout' || (result.status ?? 0) >= 500;
  if (unhealthy) breaker.recordFailure();
  else breaker.recordSuccess();
}

/** A non-2xx answer, classified; the upstream's error object is kept for the log with `redact` applied. */
export function failedStatus(
  modelId: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  redact: (text: string) => string,
): AttemptResult {
  const upstreamError = extractError(body, redact);
  const retryAfterMs = parseRetryAfterMs(headers);
  return {
    ok: false,
    kind: kindOfStatus(status),
    status,
    retryAfterMs,
    upstreamError,
    message: `${modelId} answered ${status}`,
  };
}

/**
 * A stream whose first event is the upstream's error (`data: {"error": {...}}`, errorOfEvent). The
 * client has no byte yet, so the attempt fails as the error status the event stands for
 * (statusOfErrorEvent) would: a rate limit or a server error retried, a refused key tried with the
 * other one (401), then the next candidate; if none answers, the client gets what that status gets.
 * The error object is kept for the log with `redact` applied, as an error body's is.
 */
export function failedFirstEvent(
  modelId: string,
  error: Record<string, unknown>,
  redact: (text: string) => string,
): AttemptResult {
  const status = statusOfErrorEvent(error);
  return {
    ok: false,
    kind: kindOfStatus(status),
    status,
    upstreamError: errorBodyOf(error, redact),
    message: `${modelId} began its stream with an error event, read as ${status}`,
  };
}

/**
 * The HTTP status an upstream's error event stands for. A status it names (`status`, `status_code`,
 * or a `code` such as LiteLLM's "429" or OpenRouter's 502); else its `type` and `code` as OpenAI and
 * the compatible servers spell them, class names included (rate_limit_exceeded, rate_limit_error,
 * RateLimitError, insufficient_quota: 429; permission_error, PermissionDeniedError: 403;
 * invalid_api_key, authentication_error: 401); anything else, a server error or an overload among
 * them, a 500, which is retried: the upstream failed, and another attempt may not.
 */
export function statusOfErrorEvent(error: Record<string, unknown>): number {
  for (const field of [error.status, error.status_code, error.code]) {
    const status = typeof field === 'string' && /^\d{3}$/.test(field) ? Number(field) : field;
    if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599) return status;
  }
  const words = [error.type, error.code].filter((word) => typeof word === 'string').join(' ');
  if (RATE_LIMITED.test(words)) return 429;
  if (PERMISSION_REFUSED.test(words)) return 403;
  if (KEY_REFUSED.test(words)) return 401;
  return 500;
}

const RATE_LIMITED = /rate.?limit|too.?many.?requests|insufficient.?quota/i;
const PERMISSION_REFUSED = /permission|forbidden/i;
const KEY_REFUSED = /api.?key|authenticat|unauthori[sz]ed/i;

/** What an upstream's error status is, whether its answer's or the one its first stream event stands for. */
function kindOfStatus(status: number): UpstreamFailureKind {
  if (status === 429) return 'rate_limited';
  // The provider's own request timeout: the client is told 504, as for ours.
  if (status === 408) return 'timeout';
  if (status === 401 || status === 403) return 'unauthorized';
  // 409: the provider's lock timeout, nothing wrong with the request.
  if (status >= 500 || status === 409) return 'server_error';
  return isInvalidRequestStatus(status) ? 'invalid_request' : 'client_error';
}

function extractError(body: string, redact: (text: string) => string): UpstreamErrorBody | undefined {
  // An error body this large is no error object worth parsing on the event loop: its start is logged.
  if (body.length >= PARSED_OFF_LOOP_FROM_BYTES)
    return { message: redact(body.slice(0, PARSED_OFF_LOOP_FROM_BYTES)).slice(0, MAX_LOGGED_MESSAGE) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.trim() === '' ? undefined : { message: redact(body).slice(0, MAX_LOGGED_MESSAGE) };
  }
  const error = (parsed as { error?: unknown } | undefined)?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  return errorBodyOf(error as Record<string, unknown>, redact);
}

/** An upstream's error object as the log keeps it: its strings redacted, its message cut. */
function errorBodyOf(error: Record<string, unknown>, redact: (text: string) => string): UpstreamErrorBody {
  const { message, type, code, param } = error;
  return {
    // Redacted before it is cut, so the cut cannot leave a key's beginning behind.
    message: typeof message === 'string' ? redact(message).slice(0, MAX_LOGGED_MESSAGE) : undefined,
    type: typeof type === 'string' ? redact(type) : undefined,
    code: typeof code === 'string' ? redact(code) : null,
    param: typeof param === 'string' ? redact(param) : null,
  };
}
