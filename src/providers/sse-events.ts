/** One stream event grew past the bound before its blank line came. */
export class EventTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`a stream event grew past ${limitBytes} bytes without ending`);
    this.name = 'EventTooLargeError';
  }
}

/**
 * Splits a Server-Sent Events byte stream into events (the text between blank lines), as they
 * arrive. The gateway forwards events one by one, so a chunk is never held back waiting for more.
 * An event longer than `maxEventBytes` (counted in UTF-16 units, at most its bytes) throws
 * EventTooLargeError instead of being held in memory whole.
 */
export async function* sseEvents(
  chunks: AsyncIterable<Buffer | string>,
  maxEventBytes = Number.POSITIVE_INFINITY,
): AsyncGenerator<string> {
  let buffered = '';
  // Where the search for a blank line resumes: text before it has none (a CRLF pair may straddle
  // chunks, hence the step back), so each byte is scanned about once however an event is split.
  let searchFrom = 0;
  for await (const chunk of chunks) {
    buffered += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let boundary = findBoundary(buffered, searchFrom);
    while (boundary) {
      const event = buffered.slice(0, boundary.index);
      buffered = buffered.slice(boundary.index + boundary.length);
      if (event.trim() !== '') yield event;
      boundary = findBoundary(buffered, 0);
    }
    if (buffered.length > maxEventBytes) throw new EventTooLargeError(maxEventBytes);
    searchFrom = Math.max(0, buffered.length - 3);
  }
  if (buffered.trim() !== '') yield buffered;
}

function findBoundary(text: string, from: number): { index: number; length: number } | undefined {
  const lf = text.indexOf('\n\n', from);
  const crlf = text.indexOf('\r\n\r\n', from);
  if (lf === -1 && crlf === -1) return undefined;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { index: crlf, length: 4 };
  return { index: lf, length: 2 };
}
