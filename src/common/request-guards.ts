import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { jsonComplexityProblem } from './json-complexity';
import { pathDeeperThan } from './json-depth';
import { duplicateKeyProblem } from './json-duplicate-keys';
import {
  InvalidJson,
  JsonTooDeep,
  NulCharacter,
  ReservedFieldName,
  TooManyItems,
  TooManyValues,
  UnsupportedContentType,
} from './request-errors';

/**
 * Express middleware right after the JSON body parser: a body nested deeper than MAX_JSON_DEPTH is
 * refused (400 naming the limit and where) before the ValidationPipe, whose class-transformer and
 * class-validator recurse once per level and overflow the stack on a few thousand levels.
 */
export function refuseDeepJson(req: Request, _res: Response, next: NextFunction): void {
  const body: unknown = req.body;
  const path = typeof body === 'object' && body !== null ? pathDeeperThan(body) : undefined;
  next(path === undefined ? undefined : new JsonTooDeep(path));
}

/**
 * body-parser's `verify`, on the bytes before they are parsed: a body that is not UTF-8 is refused as
 * such (400 invalid_json), as the completions entrance refuses it, instead of being decoded with
 * U+FFFD in place of its bad bytes and stored so; a body whose parse alone would hold the event loop
 * (json-complexity.ts) is refused before it is parsed, and before the route's guard: the parser runs
 * first; so is a key given twice in one object (json-duplicate-keys.ts), which the parse would drop
 * but the first. body-parser hands the refusal on wrapped (the filter unwraps it).
 */
export function checkJsonBeforeParse(_req: IncomingMessage, _res: ServerResponse, body: Buffer): void {
  if (!isUtf8(body)) throw new InvalidJson('it is not UTF-8');
  const problem = jsonComplexityProblem(body) ?? duplicateKeyProblem(body);
  if (problem) throw problem;
}

/** No operator body needs more; thousands of items only make validators and services loop (seconds). */
export const MAX_OPERATOR_ITEMS = 1000;
/**
 * Bounds on a whole operator body, lists within lists included: class-transformer and class-validator
 * spend 50-100 µs per nested object (a flag rule, a condition) and ~1 µs per other value, in one
 * piece on the event loop (1 000 rules of 15 conditions held it 630 ms). At these bounds validation
 * takes a few tens of ms; a flag of 50 rules with 5 conditions each is 350 objects.
 */
export const MAX_OPERATOR_OBJECTS = 500;
export const MAX_OPERATOR_VALUES = 20_000;

/**
 * Every route Express serves, /v1/outcomes too: a body not declared application/json gets 415, as on
 * the completions entrance (contentTypeProblem), since json() leaves it unread and the route would
 * answer as if no body was sent (every field missing, "the body must be an outcome event").
 *
 * The rest is for operator requests only (the /v1 gateway stores no request text and passes prompts
 * upstream as they are; /v1/outcomes checks its own fields and takes batches of 1 000 events):
 * Postgres text cannot hold U+0000 ("invalid byte sequence for encoding UTF8: 0x00") and
 * no operator field needs it, so a NUL in the path, the query or the body is refused with a 400
 * naming where instead of failing in the query that stores or looks for it (a 500); and no list or
 * object in the body may have more than MAX_OPERATOR_ITEMS items, nor the whole body more than
 * MAX_OPERATOR_OBJECTS objects and MAX_OPERATOR_VALUES values, so validation stays short.
 */
export function checkOperatorInput(req: Request, _res: Response, next: NextFunction): void {
  if (hasBody(req) && !req.is('application/json'))
    return next(new UnsupportedContentType(req.headers['content-type'] ?? ''));
  if (req.path.startsWith('/v1/')) return next();
  const nul = nulInUrl(req);
  next(nul === undefined ? bodyProblem(req.body) : new NulCharacter(nul));
}

/** A body was sent (Express's json() reads only application/json ones). */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

function nulInUrl(req: Request): string | undefined {
  if (!/%00/i.test(req.originalUrl)) return undefined;
  if (/%00/i.test(req.path)) return 'the path';
  for (const [name, value] of Object.entries(req.query as Record<string, unknown>)) {
    if (name.includes('\u0000') || JSON.stringify(value ?? '').includes('\\u0000')) return `query parameter ${name}`;
  }
  return 'the URL';
}

/** Iterative, like pathDeeperThan: it runs after it, on a body known to be shallow, but costs no stack either way. */
function bodyProblem(body: unknown): NulCharacter | ReservedFieldName | TooManyItems | TooManyValues | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value: body, path: '' }];
  let values = 0;
  let objects = 0;
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (++values > MAX_OPERATOR_VALUES) return new TooManyValues('values', MAX_OPERATOR_VALUES);
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return new NulCharacter(`body field ${path || '(root)'}`);
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (!Array.isArray(value) && ++objects > MAX_OPERATOR_OBJECTS)
      return new TooManyValues('objects', MAX_OPERATOR_OBJECTS);
    const entries = Object.entries(value);
    if (entries.length > MAX_OPERATOR_ITEMS)
      return new TooManyItems(path || '(root)', entries.length, MAX_OPERATOR_ITEMS);
    for (const [key, child] of entries) {
      if (key.includes('\u0000')) return new NulCharacter(`a body field name under ${path || '(root)'}`);
      if (Object.hasOwn(Object.prototype, key)) return new ReservedFieldName(key, path || '(root)');
      stack.push({ value: child, path: Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key });
    }
  }
  return undefined;
}
