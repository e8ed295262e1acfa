/** The error body OpenAI sends, which clients (and our gateway) parse. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * An answer in the OpenAI error shape. Handlers throw it and the request dispatcher writes it, so
 * each handler reads as the happy path plus the checks that can stop it.
 */
export class OpenAiHttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'OpenAiHttpError';
  }

  toBody(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

// Messages follow OpenAI's wording where it has one. None of them may ever contain the API key sent.

export const invalidApiKey = () =>
  new OpenAiHttpError(401, 'invalid_request_error', 'Incorrect API key provided.', null, 'invalid_api_key');

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new OpenAiHttpError(400, 'invalid_request_error', message, param, code);

export const modelNotFound = (model: string) =>
  new OpenAiHttpError(
    404,
    'invalid_request_error',
    `The model \`${model}\` does not exist or you do not have access to it.`,
    null,
    'model_not_found',
  );

export const unknownUrl = (method: string, path: string) =>
  new OpenAiHttpError(404, 'invalid_request_error', `Invalid URL (${method} ${path})`);

export const bodyTooLarge = (limitBytes: number) =>
  new OpenAiHttpError(413, 'invalid_request_error', `Request body exceeds ${limitBytes} bytes.`);

export const rateLimited = (model: string, retryAfterSeconds: number) =>
  new OpenAiHttpError(
    429,
    'requests',
    `Rate limit reached for ${model} (simulated). Please try again in ${retryAfterSeconds}s.`,
    null,
    'rate_limit_exceeded',
    { 'Retry-After': String(retryAfterSeconds) },
  );

export const simulatedServerError = (status: number) =>
  new OpenAiHttpError(status, 'server_error', 'The server had an error while processing your request (simulated).');
