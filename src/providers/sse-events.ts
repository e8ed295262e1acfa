/**
 * Splits a Server-Sent Events byte stream into events (the text between blank lines), as they
 * arrive. The gateway forwards events one by one, so a chunk is never held back waiting for more.
 */
export async function* sseEvents(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let buffered = '';
  for await (const chunk of chunks) {
    buffered += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let boundary = findBoundary(buffered);
    while (boundary) {
      const event = buffered.slice(0, boundary.index);
      buffered = buffered.slice(boundary.index + boundary.length);
      if (event.trim() !== '') yield event;
      boundary = findBoundary(buffered);
    }
  }
  if (buffered.trim() !== '') yield buffered;
}

function findBoundary(text: string): { index: number; length: number } | undefined {
  const lf = text.indexOf('\n\n');
  const crlf = text.indexOf('\r\n\r\n');
  if (lf === -1 && crlf === -1) return undefined;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { index: crlf, length: 4 };
  return { index: lf, length: 2 };
}
