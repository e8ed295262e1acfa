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
  // Text since the last event, kept as pieces while it holds no blank line: a long event that
  // arrives in many chunks is neither joined nor searched again for each of them.
  let pieces: string[] = [];
  let pending = 0;
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    // A blank line may straddle the previous chunk and this one: its last three characters are searched too.
    if (!findBoundary(lastChars(pieces, 3) + text)) {
      pieces.push(text);
      pending += text.length;
      if (pending > maxEventBytes) throw new EventTooLargeError(maxEventBytes);
      continue;
    }
    let buffered = pieces.join('') + text;
    let boundary = findBoundary(buffered);
    while (boundary) {
      const event = buffered.slice(0, boundary.index);
      buffered = buffered.slice(boundary.index + boundary.length);
      if (event.trim() !== '') yield event;
      boundary = findBoundary(buffered);
    }
    if (buffered.length > maxEventBytes) throw new EventTooLargeError(maxEventBytes);
    pieces = buffered === '' ? [] : [buffered];
    pending = buffered.length;
  }
  const last = pieces.join('');
  if (last.trim() !== '') yield last;
}

function findBoundary(text: string): { index: number; length: number } | undefined {
  const lf = text.indexOf('\n\n');
  const crlf = text.indexOf('\r\n\r\n');
  if (lf === -1 && crlf === -1) return undefined;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { index: crlf, length: 4 };
  return { index: lf, length: 2 };
}

/** The last `count` characters of the pieces' text, without joining them. */
function lastChars(pieces: readonly string[], count: number): string {
  let tail = '';
  for (let i = pieces.length - 1; i >= 0 && tail.length < count; i--) tail = pieces[i] + tail;
  return tail.slice(-count);
}
