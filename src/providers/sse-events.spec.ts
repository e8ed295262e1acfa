import { EventTooLargeError, sseEvents } from './sse-events';

async function collect(chunks: string[], maxEventBytes?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const event of sseEvents(
    (async function* () {
      yield* chunks;
    })(),
    maxEventBytes,
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

  it('finds a blank line split across chunks, LF or CRLF, at any point', async () => {
    const text = 'data: 1\n\ndata: 2\r\n\r\ndata: 3\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      for (let second = cut + 1; second < text.length; second++) {
        const pieces = [text.slice(0, cut), text.slice(cut, second), text.slice(second)];
        expect(await collect(pieces)).toEqual(['data: 1', 'data: 2', 'data: 3']);
      }
    }
  });

  it('refuses an event that grows past the bound before its blank line, having yielded those before it', async () => {
    const seen: string[] = [];
    const chunks = ['data: small\n\ndata: ', ...Array.from({ length: 20 }, () => 'x'.repeat(100))];
    const reading = (async () => {
      for await (const event of sseEvents(
        (async function* () {
          yield* chunks;
        })(),
        1000,
      ))
        seen.push(event);
    })();
    await expect(reading).rejects.toThrow(new EventTooLargeError(1000));
    expect(seen).toEqual(['data: small']);
    // At the bound exactly it still passes.
    expect(await collect(['data: ', 'y'.repeat(994), '\n\n'], 1000)).toEqual([`data: ${'y'.repeat(994)}`]);
  });
});
