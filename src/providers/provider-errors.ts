import { DomainError } from '../common/domain-error';
import { isInvalidRequestStatus, type UpstreamFailure } from './upstream-failure';

/** The prompt would not fit the model: refused before any call (the provider would refuse it after one). */
export class ContextLengthExceeded extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'context_length_exceeded';

  constructor(message: string) {
    super(message, { param: 'messages' });
  }
}

/** 429s outlasted the retries (or the retry budget): the caller should come back after Retry-After. */
export class UpstreamRateLimited extends DomainError {
  readonly kind = 'rate_limited';
  readonly code = 'rate_limit_exceeded';

  constructor(retryAfterMs: number | undefined) {
    super('The provider is rate limiting this model and retries did not get through; retry after the indicated time.', {
      retryAfterSeconds: (retryAfterMs ?? 1000) / 1000,
    });
  }
}

export class UpstreamTimeout extends DomainError {
  readonly kind = 'upstream_timeout';
  readonly code = 'upstream_timeout';

  constructor(reason: string) {
    super(`The provider did not answer in time: ${reason}.`);
  }
}

/** 5xx, broken connections or open circuits on every candidate. */
export class UpstreamFailed extends DomainError {
  readonly kind = 'upstream_failed';
  readonly code = 'upstream_error';

  constructor(reason: string | undefined) {
    super(
      reason
        ? `The provider failed: ${reason}; no retry or fallback the gateway's budgets allowed answered (x-switchyard-attempts counts the calls).`
        : 'No model answered.',
    );
  }
}

/** Every key we have for the provider was refused: the operators' problem, not the caller's. */
export class UpstreamCredentialsRefused extends DomainError {
  readonly kind = 'upstream_failed';
  readonly code = 'upstream_auth_failed';

  constructor() {
    super("The provider refused the gateway's credentials; operators have been told by the logs.");
  }
}

const SAFE_IDENTIFIER = /^[A-Za-z0-9_.:-]{1,64}$/;
const SAFE_PARAM = /^[A-Za-z0-9_.[\]-]{1,128}$/;

/**
 * The provider refused the request with a 4xx of its own. The caller gets the provider's status,
 * type and code (so it can tell what kind of refusal it was) and the field at fault when the
 * provider named one, but never the provider's message, which can quote what we sent it (our key).
 * The message is in the log, redacted, under the request id.
 */
export class UpstreamRejectedRequest extends DomainError {
  readonly kind = 'invalid';
  readonly code: string;
  /** 400/404/413/422: the request is wrong on every model, so it counts against none (outcome `invalid_request`). */
  readonly blamesRequest: boolean;

  constructor(status: number, upstream: { type?: unknown; code?: unknown; param?: unknown } = {}) {
    const code = safe(upstream.code, SAFE_IDENTIFIER) ?? null;
    super(
      `The provider refused this request with ${status}${code ? ` (${code})` : ''}. Its own message is not passed on; ` +
        `operators find it in the gateway's log under this response's x-switchyard-request-id.`,
      {
        param: safe(upstream.param, SAFE_PARAM) ?? null,
        relayed: { status, openAiType: safe(upstream.type, SAFE_IDENTIFIER) ?? 'invalid_request_error', code },
      },
    );
    this.code = code ?? 'upstream_rejected_request';
    this.blamesRequest = isInvalidRequestStatus(status);
  }
}

function safe(value: unknown, pattern: RegExp): string | undefined {
  return typeof value === 'string' && pattern.test(value) ? value : undefined;
}

/** What the client is told after the last candidate failed with `failure` (undefined: none was tried). */
export function upstreamErrorOf(failure: UpstreamFailure | undefined): DomainError {
  if (!failure) return new UpstreamFailed(undefined);
  const { kind, details } = failure;
  switch (kind) {
    case 'rate_limited':
      return new UpstreamRateLimited(details.retryAfterMs);
    case 'timeout':
      return new UpstreamTimeout(failure.message);
    case 'invalid_request':
    case 'client_error':
      return new UpstreamRejectedRequest(details.status ?? 400, details.upstreamError);
    case 'unauthorized':
      return new UpstreamCredentialsRefused();
    default:
      return new UpstreamFailed(failure.message);
  }
}
