import { DomainError } from './domain-error';
import { excerpt } from './excerpt';
import { MAX_JSON_DEPTH } from './json-depth';

/** Fields of the request that fail validation: one problem per field, each naming its field. */
export class InvalidInput extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'validation_failed';

  constructor(problems: string[], param: string | null = null) {
    super(problems.join('; '), { param, details: problems.length > 1 ? problems : [] });
  }
}

/**
 * A path parameter whose %-escapes do not decode (`%ZZ`, a lone `%`, bytes that are no UTF-8).
 * Express's router refuses it with a bare 400 ("Failed to decode param"), without a code or a hint.
 */
export class MalformedPathEncoding extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'malformed_path';

  constructor(segment: string) {
    super(
      `The path segment "${excerpt(segment)}" is not valid percent-encoding: write % as %25, and other characters as the %XX escapes of their UTF-8 bytes`,
    );
  }
}

/** The same words the gateway's raw path answers, so every entrance says it alike. */
export class InvalidJson extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid_json';

  constructor(reason?: string) {
    super(reason ? `The request body is not valid JSON: ${reason}.` : 'The request body is not valid JSON.');
  }
}

/**
 * A body nested deeper than MAX_JSON_DEPTH, on any entrance: refused before any recursive code walks
 * it (thousands of levels overflow class-transformer's and class-validator's recursion, and
 * JSON.stringify on the way upstream).
 */
export class JsonTooDeep extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'json_too_deep';

  constructor(path: string) {
    super(`The request body is nested more than ${MAX_JSON_DEPTH} levels deep (at ${path}); no request needs that.`, {
      param: path === '(root)' ? null : path,
    });
  }
}

/** An object key given twice in one object of a body (json-duplicate-keys.ts): JSON.parse would keep the last. */
export class DuplicateField extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'duplicate_field';

  constructor(key: string, where: string) {
    super(
      `${where || '(root)'}: the field ${JSON.stringify(key)} is given twice; send it once (JSON keeps only the last, silently)`,
      { param: where ? `${where}.${key}` : key },
    );
  }
}

/** A body whose parse alone would hold the event loop (json-complexity.ts): refused before it is parsed. */
export class JsonTooComplex extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'json_too_complex';

  constructor(what: 'strings' | 'keys' | 'containers' | 'values', max: number) {
    const most = max.toLocaleString('en-US');
    super(
      {
        strings: `The request body has more than ${most} strings (object keys and values together); no request needs that many: send text as fewer, longer strings.`,
        keys: `The request body uses more than ${most} different object keys; no request needs that many.`,
        containers: `The request body has more than ${most} objects and arrays (empty ones count too); no request needs that many.`,
        values: `The request body has more than ${most} values in its arrays and objects; no request needs that many.`,
      }[what],
    );
  }
}

/** U+0000 somewhere Postgres would have to store or compare it. */
export class NulCharacter extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'nul_character';

  constructor(where: string) {
    super(`${where} must not contain the NUL character (U+0000, %00 or \\u0000)`);
  }
}

/**
 * An operator body's field name that every JavaScript object already has (`constructor`,
 * `__proto__`, ...): the DTO layer drops such a key without a word, so a variant named
 * `constructor` would vanish from its flag while a default naming it passed. Refused by name.
 */
export class ReservedFieldName extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'reserved_field_name';

  constructor(name: string, where: string) {
    super(
      `${where}: "${name}" is reserved (every JavaScript object has it) and cannot name a field, variant or attribute; choose another name`,
    );
  }
}

/** An operator body with more objects or values in all than validation handles quickly (request-guards.ts). */
export class TooManyValues extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'too_many_values';

  constructor(what: 'objects' | 'values', max: number) {
    super(
      `The request body has more than ${max.toLocaleString('en-US')} ${what} in all; this endpoint takes at most ${max.toLocaleString('en-US')}` +
        (what === 'objects' ? ' (rules and their conditions, say, together)' : ''),
    );
  }
}

export class TooManyItems extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'too_many_items';

  constructor(path: string, count: number, max: number) {
    super(`${path} has ${count} items; this endpoint takes at most ${max} in one list or object`, {
      param: path,
    });
  }
}

/**
 * A body that stopped arriving: answered (408, and the connection closed, since the rest of the body
 * may never come) instead of holding the connection until Node's own 300 s request timeout.
 */
export class RequestBodyTimeout extends DomainError {
  readonly kind = 'request_timeout';
  readonly code = 'request_body_timeout';

  constructor(ms: number) {
    super(`The request body did not arrive within ${ms} ms (REQUEST_BODY_TIMEOUT_MS); send it whole, without pauses.`, {
      headers: { connection: 'close' },
    });
  }
}

export class RequestTooLarge extends DomainError {
  readonly kind = 'too_large';
  readonly code = 'request_too_large';

  constructor(limit: string) {
    super(`The request body is larger than ${limit} (REQUEST_BODY_LIMIT).`);
  }
}

/**
 * An operator body that is not JSON (text/plain, a form) or JSON in a charset other than UTF-8: the
 * body parser would leave it unread, and validation would then say every field is missing.
 */
export class UnsupportedContentType extends DomainError {
  readonly kind = 'unsupported_media';
  readonly code = 'unsupported_content_type';

  constructor(given: string) {
    super(
      `The request body must be JSON in UTF-8 with Content-Type: application/json (got ${given ? JSON.stringify(given.slice(0, 100)) : 'no Content-Type'}).`,
    );
  }
}

/** A Content-Encoding the server cannot decode: 415, naming the ones it can. */
export class UnsupportedContentEncoding extends DomainError {
  readonly kind = 'unsupported_media';
  readonly code = 'unsupported_content_encoding';

  constructor(encoding: string, supported: string[]) {
    super(
      `The request body's Content-Encoding "${encoding}" is not supported; send it uncompressed or as ${supported.join(', ')}.`,
    );
  }
}

/** A body that says it is compressed but does not decompress. */
export class UndecodableBody extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid_content_encoding';

  constructor(encoding: string) {
    super(`The request body is not valid ${encoding} data, as its Content-Encoding says it is.`);
  }
}
