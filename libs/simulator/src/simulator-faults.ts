import { invalidApiKey, invalidRequest, OpenAiHttpError } from './openai-error';

/** "The next `count` calls answer `status`": deterministic fault injection for tests and drills. */
export interface ScriptedFault {
  status: number;
  retryAfterSeconds?: number;
  retryAfterMs?: number;
  /** The error body's message instead of the default one (e.g. to see what a gateway passes on). */
  message?: string;
  /**
   * A streamed call gets the error as the first event of a 200 stream instead (`data: {"error": {...}}`,
   * the body the status would have had, then the stream ends), as providers that fail after sending
   * their headers do; a plain call still gets the status. The stream's head is a 200's, without the
   * fault's Retry-After.
   */
  asStreamEvent?: boolean;
}

/** Reads `{ status, count?, retryAfterSeconds?, retryAfterMs?, message?, asStreamEvent? }`; a 400 naming every bad field. */
export function readFault(body: unknown): { fault: ScriptedFault; count: number } {
  const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const { status, count = 1, retryAfterSeconds, retryAfterMs, message, asStreamEvent } = input;
  const problems: string[] = [];
  if (!Number.isInteger(status) || (status as number) < 400 || (status as number) > 599) {
    problems.push('status must be an HTTP error status between 400 and 599');
  }
  if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > 10_000) {
    problems.push('count must be an integer between 1 and 10000');
  }
  if (retryAfterSeconds !== undefined && !(Number.isInteger(retryAfterSeconds) && (retryAfterSeconds as number) >= 0)) {
    problems.push('retryAfterSeconds must be a non-negative integer');
  }
  if (retryAfterMs !== undefined && !(typeof retryAfterMs === 'number' && retryAfterMs >= 0)) {
    problems.push('retryAfterMs must be a non-negative number');
  }
  if (message !== undefined && !(typeof message === 'string' && message.length <= 10_000)) {
    problems.push('message must be a string of at most 10000 characters');
  }
  if (asStreamEvent !== undefined && typeof asStreamEvent !== 'boolean')
    problems.push('asStreamEvent must be a boolean');
  if (problems.length > 0) throw invalidRequest(problems.join('; '), 'fault');
  const fault: ScriptedFault = { status: status as number };
  if (retryAfterSeconds !== undefined) fault.retryAfterSeconds = retryAfterSeconds as number;
  if (retryAfterMs !== undefined) fault.retryAfterMs = retryAfterMs as number;
  if (message !== undefined) fault.message = message as string;
  if (asStreamEvent === true) fault.asStreamEvent = true;
  return { fault, count: count as number };
}

/** The error a queued fault answers with, shaped as OpenAI shapes that status. */
export function scriptedFailure(model: string, fault: ScriptedFault): OpenAiHttpError {
  const headers: Record<string, string> = {};
  if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds);
  if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
  if (fault.status === 429) {
    return new OpenAiHttpError(
      429,
      'requests',
      fault.message ?? `Rate limit reached for ${model} (scripted).`,
      null,
      'rate_limit_exceeded',
      headers,
    );
  }
  if (fault.status === 401) return invalidApiKey();
  const type = fault.status >= 500 ? 'server_error' : 'invalid_request_error';
  const message = fault.message ?? `Scripted ${fault.status} for ${model}.`;
  return new OpenAiHttpError(fault.status, type, message, null, null, headers);
}
