import { type ArgumentMetadata, applyDecorators, ValidationPipe, type ValidationError } from '@nestjs/common';
import { ValidateBy, ValidateIf } from 'class-validator';
import { InvalidInput } from './request-errors';

/** More problems than this are summed up in one last line: the first few are what gets fixed first. */
const MAX_PROBLEMS = 20;

/**
 * Constraints that say what a field is, checked before those that say what it may hold: for `5` where
 * a slug of at most 100 characters is expected, "must be a lower-case slug" helps and "must be at most
 * 100 characters" misleads. Lower ranks win; constraints not listed come after.
 */
const CONSTRAINT_RANK: Record<string, number> = {
  whitelistValidation: 0,
  notNull: 0,
  isDefined: 1,
  isString: 2,
  isNumber: 2,
  isInt: 2,
  isBoolean: 2,
  isArray: 2,
  isObject: 2,
  nestedValidation: 2,
  isIn: 3,
  isEnum: 3,
};
const UNRANKED = 4;

const NOT_NULL = 'notNull';

/**
 * A field the request may leave out, but not send as null. class-validator's IsOptional skips null
 * as well, which let `{"enabled": null}` through to the services (a 500, or a change that changed
 * nothing but the version). A field where null means something keeps IsOptional.
 */
export function Optional(): PropertyDecorator {
  return applyDecorators(
    ValidateIf((_object, value) => value !== undefined),
    ValidateBy({ name: NOT_NULL, validator: { validate: (value) => value !== null } }),
  );
}

/**
 * The operator API's ValidationPipe: whitelisted DTOs, transformed values, and errors as one
 * InvalidInput that has ONE problem per field (the most telling one), each naming the field by its
 * full path (`rules[0].conditions[1].operator`).
 */
export function operatorValidationPipe(): ValidationPipe {
  return new OperatorValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new InvalidInput(problemsOf(errors)),
  });
}

class OperatorValidationPipe extends ValidationPipe {
  /** A list or a scalar where a DTO's object belongs is one problem, not one per index and missing field. */
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const wholeObject = (metadata.type === 'body' || metadata.type === 'query') && !metadata.data;
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
    if (wholeObject && value !== undefined && !isObject && this.toValidate(metadata)) {
      throw new InvalidInput([`the request ${metadata.type} must be a JSON object`]);
    }
    return super.transform(value, metadata);
  }
}

/** The one wording for what a request does not take: a DTO's unknown field, a query parameter, a field of a body-less route. */
export function notAField(path: string): string {
  return `${path} is not a field of this request; remove it`;
}

export function problemsOf(errors: ValidationError[]): string[] {
  const problems = new Set<string>();
  const pending = errors.map((error) => ({ error, path: error.property })).reverse();
  while (pending.length > 0) {
    const { error, path } = pending.pop()!;
    const problem = problemOf(error, path);
    if (problem) problems.add(problem);
    const children = error.children ?? [];
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i];
      pending.push({ error: child, path: childPath(path, child.property) });
    }
  }
  return capped([...problems]);
}

export function capped(list: string[]): string[] {
  if (list.length <= MAX_PROBLEMS) return list;
  return [...list.slice(0, MAX_PROBLEMS), `... and ${list.length - MAX_PROBLEMS} more problems`];
}

function childPath(parent: string, property: string): string {
  return /^\d+$/.test(property) ? `${parent}[${property}]` : `${parent}.${property}`;
}

function problemOf(error: ValidationError, path: string): string | undefined {
  const constraints = error.constraints ?? {};
  // class-validator lists a property's constraints last-declared first: reversed, they read as written.
  const names = Object.keys(constraints).reverse();
  if (names.length === 0) return undefined;
  if (names.includes('whitelistValidation')) return notAField(path);
  if ('value' in error && error.value === null) {
    return names.includes(NOT_NULL) ? `${path} must not be null: leave it out instead` : `${path} must not be null`;
  }
  if ('value' in error && error.value === undefined) return `${path} is required`;
  const chosen = names.reduce((best, name) =>
    (CONSTRAINT_RANK[name] ?? UNRANKED) < (CONSTRAINT_RANK[best] ?? UNRANKED) ? name : best,
  );
  return withPath(constraints[chosen], error.property, path);
}

/** Messages start with the property's own name ("name must ..."); nested ones get the whole path. */
function withPath(message: string, property: string, path: string): string {
  if (path === property) return message;
  if (message.startsWith(`${property} `)) return `${path}${message.slice(property.length)}`;
  return `${path}: ${message}`;
}
