import { failedFirstEvent, failedStatus, statusOfErrorEvent } from './attempt-result';
import { PARSED_OFF_LOOP_FROM_BYTES } from './answer-parser';

const KEY = 'sk-live-attempt-result-0123456789';
const redact = (text: string) => text.replaceAll(KEY, '[redacted]');

describe('failedStatus', () => {
  it("keeps a small error body's error object, redacted", () => {
    const body = JSON.stringify({ error: { message: `bad key ${KEY}`, type: 'invalid_request_error', code: 'x' } });
    expect(failedStatus('m', 400, {}, body, redact)).toMatchObject({
      kind: 'invalid_request',
      upstreamError: { message: 'bad key [redacted]', type: 'invalid_request_error', code: 'x', param: null },
    });
  });

  it('does not parse an error body too large for the event loop: its start is kept, redacted and cut', () => {
    const body = JSON.stringify({
      error: { message: `bad key ${KEY}`, detail: 'x'.repeat(PARSED_OFF_LOOP_FROM_BYTES) },
    });
    const result = failedStatus('m', 500, {}, body, redact);
    expect(result).toMatchObject({ kind: 'server_error', status: 500 });
    const message = (result as { upstreamError?: { message?: string } }).upstreamError?.message ?? '';
    expect(message.startsWith('{"error":{"message":"bad key [redacted]","detail":"xxx')).toBe(true);
    expect(message).toHaveLength(500);
  });
});

describe('statusOfErrorEvent: the HTTP status an error event that begins a stream stands for', () => {
  it.each<[string, Record<string, unknown>, number]>([
    ["OpenAI's rate limit", { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' }, 429],
    ["Anthropic's rate limit", { type: 'rate_limit_error', message: 'Number of requests exceeded' }, 429],
    ['a rate limit named by its class', { type: 'RateLimitError', message: 'slow down' }, 429],
    ['a quota used up (OpenAI answers it 429)', { type: 'insufficient_quota', code: 'insufficient_quota' }, 429],
    ["OpenAI's refused key", { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect key' }, 401],
    ["Anthropic's refused key", { type: 'authentication_error', message: 'invalid x-api-key' }, 401],
    ['a key refused by class name', { type: 'AuthenticationError' }, 401],
    ['a permission refused', { type: 'permission_error', message: 'not allowed' }, 403],
    ['a permission refused by class name', { type: 'PermissionDeniedError' }, 403],
    ['a server error', { type: 'server_error', message: 'The server had an error' }, 500],
    ["Anthropic's overload", { type: 'overloaded_error', message: 'Overloaded' }, 500],
    ['an error nothing recognises', { message: 'something went wrong' }, 500],
    ['an error with only a vendor code', { code: 'E_UPSTREAM_17', type: 'invalid_request_error' }, 500],
    ['a status it names', { message: 'slow down', status: 429 }, 429],
    ['a status in `code`, as OpenRouter sends it', { code: 502, message: 'Provider returned error' }, 502],
    ['a status in `code` as a string, as LiteLLM sends it', { code: '429', type: 'None', message: 'limit' }, 429],
    ['a status_code', { status_code: 401, message: 'no' }, 401],
    ['a named status over the words', { type: 'rate_limit_error', status: 503 }, 503],
    ['a named status over the words, a 400 among them', { type: 'server_error', code: 400 }, 400],
    ['a number that is no error status', { code: 200, type: 'rate_limit_error' }, 429],
    ['a code that is no status', { code: 42 }, 500],
  ])('%s', (_, error, status) => {
    expect(statusOfErrorEvent(error)).toBe(status);
  });
});

describe('failedFirstEvent: the attempt fails as that status would', () => {
  it.each<[Record<string, unknown>, string, number]>([
    [{ type: 'rate_limit_error' }, 'rate_limited', 429],
    [{ code: 'invalid_api_key' }, 'unauthorized', 401],
    [{ type: 'permission_error' }, 'unauthorized', 403],
    [{ type: 'overloaded_error' }, 'server_error', 500],
    [{ message: 'what happened?' }, 'server_error', 500],
    [{ status: 408 }, 'timeout', 408],
    [{ code: 400, type: 'invalid_request_error' }, 'invalid_request', 400],
    [{ status: 402 }, 'client_error', 402],
  ])('%j: %s, %d', (error, kind, status) => {
    // The same kind as the status's own answer, whichever way the upstream said it.
    expect(failedFirstEvent('m', error, redact)).toMatchObject({ ok: false, kind, status });
    expect(failedStatus('m', status, {}, JSON.stringify({ error }), redact)).toMatchObject({ kind, status });
  });

  it("keeps the event's error object for the log, redacted as an error body's is, and says it was an event", () => {
    const error = { message: `key ${KEY} is over its limit`, type: 'rate_limit_error', code: KEY, param: 'x' };
    expect(failedFirstEvent('gpt-4.1', error, redact)).toEqual({
      ok: false,
      kind: 'rate_limited',
      status: 429,
      upstreamError: {
        message: 'key [redacted] is over its limit',
        type: 'rate_limit_error',
        code: '[redacted]',
        param: 'x',
      },
      message: 'gpt-4.1 began its stream with an error event, read as 429',
    });
  });
});
