import { sseEvents } from './sse-events';

async function collect(chunks: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const event of sseEvents(
    (async function* () {
      yield* chunks;
    })(),
  ))
    out.push(event);
  return out;
}

describe('sseEvents', () => {
  it('yields each event once complete, however the bytes were split', async () => {
    const events = await collect(['data: {"a":1}\n', '\ndata: {"b"', ':2}\n\ndata: [DONE]\n\n']);
    expect(events).toEqual(['data: {"a":1}', 'data: {"b":2}', 'data: [DONE]']);
  });

  it('accepts CRLF separators and a last event without a trailing blank line', async () => {
    expect(await collect(['data: 1\r\n\r\ndata: 2'])).toEqual(['data: 1', 'data: 2']);
  });
});
