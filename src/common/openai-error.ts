import type { ServerResponse } from 'node:http';
import { HttpException } from '@nestjs/common';

export interface OpenAiErrorFields {
  message: string;
  type: string;
  code: string | null;
  param: string | null;
}

/**
 * An error answered to `/v1/*` callers in OpenAI's shape, with optional headers (Retry-After).
 * Messages must never contain upstream keys, hostnames or stack traces.
 */
export class OpenAiError extends HttpException {
  constructor(
    status: number,
    readonly fields: OpenAiErrorFields,
    readonly headers: Record<string, string> = {},
  ) {
    super(fields, status);
  }

  static invalidRequest(message: string, param: string | null = null, code: string | null = null): OpenAiError {
    return new OpenAiError(400, { message, type: 'invalid_request_error', code, param });
  }

  static notFound(message: string, param: string | null, code: string): OpenAiError {
    return new OpenAiError(404, { message, type: 'invalid_request_error', code, param });
  }
}

/** Writes the error with Node's own response API, so the gateway's raw fast path and the filter agree. */
export function writeOpenAiError(res: ServerResponse, error: OpenAiError): void {
  const body = JSON.stringify({ error: error.fields });
  res.writeHead(error.getStatus(), { ...error.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
