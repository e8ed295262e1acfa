import { CodedHttpException } from '../common/coded-http-exception';

/**
 * 401 (no, unknown or revoked key; with `WWW-Authenticate: Bearer`), 403 (the key lacks the scope
 * or policy) or 429 (over the key's limit). Carries the key id when the key is known, for the
 * request's metric row.
 */
export class AccessDeniedException extends CodedHttpException {
  constructor(
    status: 401 | 403 | 429,
    message: string,
    code: string,
    headers: Record<string, string> = {},
    readonly apiKeyId: string | null = null,
  ) {
    super(
      status,
      message,
      code,
      status === 401 ? { 'www-authenticate': 'Bearer realm="switchyard"', ...headers } : headers,
    );
  }
}
