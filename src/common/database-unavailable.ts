import { DomainError } from './domain-error';

/** What a caller is told to wait: a restarted or failed-over Postgres is usually back within seconds. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * Postgres could not be reached, or dropped the connection, while serving the request. Not the
 * caller's fault and not a bug: a 503 with Retry-After, so clients and operators retry instead of
 * reporting an internal error.
 */
export class DatabaseUnavailable extends DomainError {
  readonly kind = 'unavailable';
  readonly code = 'database_unavailable';

  constructor(cause: unknown, why = 'The database is unavailable right now', note = '') {
    super(
      `${why}, so this request could not be completed; retry in ${DATABASE_RETRY_AFTER_SECONDS} s (Retry-After).` +
        `${note} Completions and flag evaluation keep working from memory.`,
      { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS, cause },
    );
  }
}

/**
 * An operator request still unanswered after OPERATOR_TIMEOUT_MS: a database that hangs (a paused
 * container, a stalled disk) answers nothing, and without a bound the caller would wait as long.
 * The work goes on, so a change it carries may still be applied once the database answers.
 */
export class DatabaseNotAnswering extends DatabaseUnavailable {
  constructor(timeoutMs: number) {
    super(
      undefined,
      `The database did not answer within ${timeoutMs} ms (OPERATOR_TIMEOUT_MS)`,
      ' A change this request carries may still be applied once the database answers: read it back before sending it again.',
    );
  }
}

/** Node's socket errors on connecting to or talking with the server. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs that mean "no server to talk to right now": class 08 (connection exception), 57P01-57P03
 * (shut down by an administrator, crashed, starting up), 53300 (too many connections); and 57014, a
 * statement cancelled at DATABASE_STATEMENT_TIMEOUT_MS (the database did not get to it in time).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300|57014)$/;

/**
 * pg's own errors for a connection that went away or never came (pool timeouts included), or that
 * left a statement unanswered past its bound (BoundedClient).
 */
const CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|connection timeout|Client has encountered a connection error|not queryable|Query read timeout/i;

/**
 * The DatabaseUnavailable an error is, when it (or what it wraps: TypeORM's `driverError`, a `cause`,
 * an AggregateError's `errors`) says the database could not be reached; undefined for every other
 * error, including queries Postgres refused on their merits.
 */
export function databaseUnavailableFrom(error: unknown): DatabaseUnavailable | undefined {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0 && seen.size < 20) {
    const candidate = pending.pop();
    if (typeof candidate !== 'object' || candidate === null || seen.has(candidate)) continue;
    seen.add(candidate);
    const { code, message, driverError, cause, errors } = candidate as {
      code?: unknown;
      message?: unknown;
      driverError?: unknown;
      cause?: unknown;
      errors?: unknown;
    };
    if (typeof code === 'string' && (SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) {
      return new DatabaseUnavailable(error);
    }
    if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return new DatabaseUnavailable(error);
    pending.push(driverError, cause, ...(Array.isArray(errors) ? errors : []));
  }
  return undefined;
}
