/** Why a call to one model ended without an answer, after its retries. */
export type UpstreamFailureKind =
  | 'rate_limited' // 429 outlasted the retries
  | 'server_error' // 5xx outlasted the retries
  | 'network' // connection refused/reset, broken stream before the first chunk
  | 'timeout' // the attempt or the first chunk took too long
  | 'unauthorized' // the provider refused every key we have
  | 'client_error' // 4xx other than 401/429: the request itself is wrong, never retried
  | 'circuit_open'; // the model's breaker is open: not called at all

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    readonly details: {
      attempts: number;
      status?: number;
      retryAfterMs?: number;
      /** The upstream's own error object for client errors, passed on so the caller can fix the request. */
      upstreamError?: { message?: string; type?: string; code?: string | null; param?: string | null };
    },
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}
