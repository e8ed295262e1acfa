import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { bodyTooLarge, invalidRequest, OpenAiHttpError } from './openai-error';

/** Prompts can be large; the gateway's own limit is smaller, so this one should never be the one hit. */
export const BODY_LIMIT_BYTES = 16 * 1024 * 1024;

const NOT_JSON_MESSAGE =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library " +
  'correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)';

/** Reads and parses a JSON body; a 400 in OpenAI's wording when it is empty or not JSON, 413 when too big. */
export async function readJsonBody(req: IncomingMessage, limitBytes = BODY_LIMIT_BYTES): Promise<unknown> {
  const text = (await readBody(req, limitBytes)).toString('utf8');
  if (text.trim() === '') throw invalidRequest(NOT_JSON_MESSAGE);
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest(NOT_JSON_MESSAGE);
  }
}

function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  if (Number(req.headers['content-length']) > limitBytes) return Promise.reject(bodyTooLarge(limitBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // On overflow we answer at once but keep draining (dropping the data) rather than destroying the
    // request: destroying it would take the socket, and the 413, with it.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) reject(bodyTooLarge(limitBytes));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('client closed the connection before sending the whole body'));
    });
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/**
 * Tracks whether the client is still there, and lets the handler wait without outliving it.
 * Lighter than an AbortController, which matters on the benchmark hot path where nothing ever waits.
 */
export class RequestLifetime {
  private ended = false;
  private wake?: () => void;

  /** Ends the lifetime when the response closes before it finished: the client left, or stop() cut it. */
  static of(res: ServerResponse): RequestLifetime {
    const lifetime = new RequestLifetime();
    res.once('close', () => {
      if (!res.writableFinished) lifetime.end();
    });
    return lifetime;
  }

  get isOver(): boolean {
    return this.ended;
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** Resolves after `ms`, or as soon as the lifetime ends (never rejects): check `isOver` afterwards. */
  sleep(ms: number): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = () => {
        clearTimeout(timer);
        done();
      };
    });
  }
}

/** The path of a request URL, without its query string. */
export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** decodeURIComponent that answers undefined on malformed escapes instead of throwing. */
export function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Writes the error if the response can still carry one; otherwise the connection is beyond saving. */
export function answerError(res: ServerResponse, error: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (error instanceof OpenAiHttpError) {
    sendJson(res, error.status, error.toBody(), error.headers);
    return;
  }
  // A simulator bug or a client that vanished mid-body. The details stay out of the body on purpose.
  sendJson(res, 500, new OpenAiHttpError(500, 'server_error', 'Simulator internal error.').toBody());
}

export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A host clients can connect to: wildcard addresses become loopback, IPv6 gets brackets. */
export function connectableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
