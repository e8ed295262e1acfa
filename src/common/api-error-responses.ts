import { applyDecorators, type Type } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ApiErrorDto, OpenAiErrorDto } from './api-error.dto';
import { DatabaseUnavailable } from './database-unavailable';
import { DomainError } from './domain-error';
import { openAiBodyOf, operatorBodyOf, reasonPhraseOf, statusOf } from './domain-error-status';
import { openAiErrorType } from './openai-error';
import { DuplicateField, InvalidJson } from './request-errors';

export const EXAMPLE_REQUEST_ID = '5b0c6b1e-6d5f-4a83-9d1f-2f7f7f1f3c11';

/** An error case written out, for errors the domain does not (yet) raise as a DomainError. */
export interface ErrorExample {
  status: number;
  code?: string;
  message: string;
  details?: string[];
  /** OpenAI shape only: the field at fault. */
  param?: string | null;
}

type ErrorCase = DomainError | ErrorExample;

function statusOfCase(error: ErrorCase): number {
  return error instanceof DomainError ? statusOf(error) : error.status;
}

function operatorExample(error: ErrorCase): unknown {
  if (error instanceof DomainError) return operatorBodyOf(error, EXAMPLE_REQUEST_ID);
  return {
    statusCode: error.status,
    error: reasonPhraseOf(error.status),
    ...(error.code ? { code: error.code } : {}),
    message: error.message,
    ...(error.details ? { details: error.details } : {}),
    requestId: EXAMPLE_REQUEST_ID,
  };
}

function openAiExample(error: ErrorCase): unknown {
  if (error instanceof DomainError) return openAiBodyOf(error);
  return {
    error: {
      message: error.message,
      type: openAiErrorType(error.status),
      code: error.code ?? null,
      param: error.param ?? null,
    },
  };
}

/**
 * Documents one error status of a route with an example body per case, in the shape the route
 * answers: the cases must share a status (one OpenAPI response per status; Swagger UI shows several
 * cases as a list of examples). DomainErrors are documented with their real message and code.
 */
function errorResponse(shape: 'operator' | 'openai', description: string, cases: ErrorCase[]) {
  const status = statusOfCase(cases[0]);
  const mismatch = cases.find((error) => statusOfCase(error) !== status);
  if (mismatch)
    throw new Error(`error examples of one response must share a status: ${status} and ${statusOfCase(mismatch)}`);
  const exampleOf = shape === 'operator' ? operatorExample : openAiExample;
  const type = shape === 'operator' ? ApiErrorDto : OpenAiErrorDto;
  if (cases.length === 1) return ApiResponse({ status, description, type, example: exampleOf(cases[0]) });
  const examples: Record<string, { summary: string; value: unknown }> = {};
  cases.forEach((error, index) => {
    const name = error.code ?? `case-${index + 1}`;
    examples[name in examples ? `${name}-${index + 1}` : name] = {
      summary: error.message.slice(0, 120),
      value: exampleOf(error),
    };
  });
  return ApiResponse({ status, description, type, examples });
}

/** An error status of an operator route (ApiErrorDto), with an example per case. */
export const ApiOperatorError = (description: string, ...cases: ErrorCase[]) =>
  errorResponse('operator', description, cases);

/** An error status of a /v1 route (OpenAI's error shape), with an example per case. */
export const ApiOpenAiError = (description: string, ...cases: ErrorCase[]) =>
  errorResponse('openai', description, cases);

/** Validation problems of a route with a JSON body: its own examples, malformed JSON, and a key given twice. */
export const ApiInvalidBody = (description: string, ...cases: ErrorCase[]) =>
  ApiOperatorError(description, ...cases, new InvalidJson(), new DuplicateField('reason', ''));

/**
 * The body of a route that takes none (UndeclaredInputInterceptor refuses one with fields, 400);
 * documented so that a caller who looks for its options learns there are none. `what` says why.
 */
export const ApiNoBody = (what: string) =>
  ApiBody({
    required: false,
    description: `${what} \`{}\` is taken as none; a body with fields is refused (400)`,
    schema: { type: 'object', maxProperties: 0, example: {} },
  });

/** Every operator route that reads or writes Postgres: 503 with Retry-After while it cannot be reached. */
export const ApiDatabaseUnavailable = () =>
  ApiOperatorError(
    'The database cannot be reached right now (Retry-After says when to retry); nothing in-memory stops',
    new DatabaseUnavailable(undefined),
  );

/**
 * A request body documented by its DTO with examples of its own, for bodies whose schema sample
 * would not succeed as is (Swagger UI fills in every optional field, e.g. a webhook URL nobody
 * listens on). Swagger UI pre-fills the first example.
 */
/** The body's schema (one of `types`, when it takes several shapes) with named examples, each of which must work. */
export const ApiBodyExamples = (
  type: Type<unknown> | Array<Type<unknown>>,
  examples: Record<string, { summary: string; value: unknown }>,
) => {
  const types = Array.isArray(type) ? type : [type];
  const refs = types.map((one) => ({ $ref: getSchemaPath(one) }));
  return applyDecorators(
    ApiExtraModels(...types),
    ApiBody({ schema: refs.length === 1 ? refs[0] : { oneOf: refs }, examples }),
  );
};
