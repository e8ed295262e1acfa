/**
 * Why a call to one model ended without an answer, after its retries. A stream whose first event is
 * the upstream's error counts as the status that event stands for (statusOfErrorEvent).
 */
export type UpstreamFailureKind =
  | 'rate_limited' // 429 outlasted the retries
  | 'server_error' // 5xx outlasted the retries
  | 'network' // connection refused/reset, broken stream before the first chunk (or a first event that is no chunk)
  | 'timeout' // the attempt or the first chunk took too long
  | 'unauthorized' // the provider refused every key we have
  | 'invalid_request' // 400/404/413/422: the request itself is wrong, on every model; never retried
  | 'client_error' // another 4xx (402, 405, 409...): the provider refuses for reasons of its own; never retried
  | 'too_large' // an answer or stream event beyond GATEWAY_ANSWER_LIMIT: not read further, never retried
  | 'circuit_open'; // the model's breaker is open: not called at all

/** An upstream's own error object, with any provider key already redacted from the message. */
export interface UpstreamErrorBody {
  message?: string;
  type?: string;
  code?: string | null;
  param?: string | null;
}

/**
 * What went wrong with one model, as the provider client reports it to the candidate runner. Not
 * an answer for the client: `upstreamErrorOf` turns the last one into the DomainError it sees.
 */
export class UpstreamFailure extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    readonly details: {
      attempts: number;
      /** The upstream's error status, or the one the error event that began its stream stands for. */
      status?: number;
      retryAfterMs?: number;
      /** For the log only: the upstream's message is never passed to the client (it can quote our key). */
      upstreamError?: UpstreamErrorBody;
    },
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}

/** Statuses that say the request is wrong, whichever model it goes to: outcome `invalid_request`. */
export function isInvalidRequestStatus(status: number): boolean {
  return status === 400 || status === 404 || status === 413 || status === 422;
}
