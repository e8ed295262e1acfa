/**
 * What went wrong, in the domain's words. Services throw subclasses of DomainError (one small class
 * per case, in the module that owns the case: `FlagNotFound` in flags/, `UnknownModel` in routing/)
 * and import nothing from HTTP. `DomainErrorFilter` (and the gateway's responder, which answers
 * without Nest) turn the kind into a status through the one table in `domain-error-status.ts`,
 * and the error into the operator or the OpenAI body shape.
 */
export type DomainErrorKind =
  /** The caller's input is wrong: 400. */
  | 'invalid'
  /** No, an unknown or a revoked credential: 401. */
  | 'unauthenticated'
  /** The credential is known but does not allow this: 403. */
  | 'forbidden'
  /** The thing named does not exist: 404. */
  | 'not_found'
  /** The URL exists, but not for this method: 405, with Allow. */
  | 'method_not_allowed'
  /** The thing exists but is not in a state that allows this (stale version, wrong state): 409. */
  | 'conflict'
  /** The request did not arrive (its body) within the time allowed: 408. */
  | 'request_timeout'
  /** The request is larger than a limit: 413. */
  | 'too_large'
  /** The body comes in a form the server cannot read (a Content-Encoding it cannot decode): 415. */
  | 'unsupported_media'
  /** The caller is over a limit of its own (rate, tokens, budget): 429. */
  | 'rate_limited'
  /** A spend budget is used up: 429 with OpenAI's own `insufficient_quota` type, as its API answers an exhausted quota. */
  | 'quota_exhausted'
  /** An upstream (a model provider) failed: 502. */
  | 'upstream_failed'
  /** A dependency of ours (the database) is unavailable right now; retry later: 503. */
  | 'unavailable'
  /** An upstream did not answer in time: 504. */
  | 'upstream_timeout';

export interface DomainErrorOptions {
  /** The request field at fault (OpenAI's `param`), e.g. `messages[2].role`. */
  param?: string | null;
  /** Every problem when there are several (validation), each naming its field. */
  details?: string[];
  /** Seconds after which a retry may succeed (Retry-After). */
  retryAfterSeconds?: number;
  /** Extra response headers the case needs (x-ratelimit-*). Never secrets. */
  headers?: Record<string, string>;
  /** An upstream's own answer passed on to the caller: its status, type and code instead of the kind's. */
  relayed?: RelayedAnswer;
  cause?: unknown;
}

/**
 * What an upstream (a model provider) answered, when the caller must see it as it was: a provider's
 * refusal of a request keeps the provider's status (400, 404, 413, 422...), OpenAI type and code,
 * so the caller can tell what the provider objected to. The message is always the gateway's own.
 */
export interface RelayedAnswer {
  status: number;
  openAiType: string;
  code: string | null;
}

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  /** Stable, machine-readable: OpenAI's `code` on /v1, `code` in the operator body. */
  abstract readonly code: string;
  readonly param: string | null;
  readonly details: string[];
  readonly retryAfterSeconds?: number;
  readonly headers: Record<string, string>;
  readonly relayed?: RelayedAnswer;

  constructor(message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.param = options.param ?? null;
    this.details = options.details ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
    this.relayed = options.relayed;
  }
}
