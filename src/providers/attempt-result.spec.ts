import { failedStatus } from './attempt-result';
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
