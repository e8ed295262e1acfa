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
  const kind: UpstreamFailureKind =
    status === 429
      ? 'rate_limited'
      : status === 408
        ? 'timeout' // the provider's own request timeout: the client is told 504, as for ours
        : status === 401 || status === 403
          ? 'unauthorized'
          : status >= 500 || status === 409
            ? 'server_error' // 409: the provider's lock timeout, nothing wrong with the request
            : isInvalidRequestStatus(status)
              ? 'invalid_request'
              : 'client_error';
  return { ok: false, kind, status, retryAfterMs, upstreamError, message: `${modelId} answered ${status}` };
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
  const { message, type, code, param } = error as Record<string, unknown>;
  return {
    // Redacted before it is cut, so the cut cannot leave a key's beginning behind.
    message: typeof message === 'string' ? redact(message).slice(0, MAX_LOGGED_MESSAGE) : undefined,
    type: typeof type === 'string' ? redact(type) : undefined,
    code: typeof code === 'string' ? redact(code) : null,
    param: typeof param === 'string' ? redact(param) : null,
  };
}
