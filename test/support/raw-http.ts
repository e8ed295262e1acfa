import { request } from 'node:http';

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
