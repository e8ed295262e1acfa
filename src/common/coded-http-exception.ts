import { HttpException } from '@nestjs/common';

/**
 * An HTTP error with a machine-readable code and response headers (WWW-Authenticate, Retry-After).
 * HttpExceptionFilter answers it in OpenAI's shape on `/v1/*` (with `code`) and in the operator shape
 * elsewhere, and sets the headers either way.
 */
export class CodedHttpException extends HttpException {
  constructor(
    status: number,
    message: string,
    readonly code: string,
    readonly headers: Record<string, string> = {},
  ) {
    super({ message }, status);
  }
}
