import { request } from 'node:http';
import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  /** Path and query string, sent as given (not re-encoded). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** From sending the request to the end of the response body. */
  ms: number;
}

/**
 * One HTTP request through node:http, with no client-side checks or encoding, so a test can send
 * what a hostile or broken client sends (raw path bytes, odd headers, bodies that are not JSON).
 */
export function rawRequest(baseUrl: string, raw: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: raw.method,
        path: raw.path,
        headers: {
          ...(raw.body !== undefined ? { 'content-length': String(Buffer.byteLength(raw.body)) } : {}),
          ...raw.headers,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - started,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(raw.body);
  });
}

/**
 * One request written to the socket byte for byte (its head in `head`, CRLFs included), for what
 * node:http would re-encode: header bytes that are not ASCII, sent as curl or a browser sends them.
 * Answers the status and the body of the response, read to the end (the request should ask to close).
 */
export function rawBytes(
  baseUrl: string,
  head: Buffer,
  body = Buffer.alloc(0),
): Promise<{ status: number; text: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(Buffer.concat([head, body])));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const response = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
      const split = response.indexOf('\r\n\r\n');
      resolve({ status, text: split === -1 ? '' : response.slice(split + 4) });
    });
  });
}
