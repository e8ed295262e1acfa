import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  /** The exact bytes received (what a signature covers). */
  raw: Buffer;
  json: unknown;
  at: number;
}

/** How the server answers one request: a status, and optionally a delay before answering. */
export type WebhookReply = number | { status: number; delayMs?: number; headers?: Record<string, string> };

/**
 * A real HTTP webhook receiver on 127.0.0.1 for e2e tests: records every request and answers what
 * `reply` says (200 by default). `stop()` closes the port (senders then get ECONNREFUSED) and
 * `start()` opens the same port again.
 */
export class WebhookServer {
  readonly received: ReceivedWebhook[] = [];
  reply: (request: ReceivedWebhook) => WebhookReply = () => 200;
  private server?: Server;
  private port = 0;

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch {
          json = undefined;
        }
        const request = { path: req.url ?? '', headers: req.headers, raw, json, at: Date.now() };
        this.received.push(request);
        const reply = this.reply(request);
        const { status, delayMs = 0, headers = {} } = typeof reply === 'number' ? { status: reply } : reply;
        const answer = (response: ServerResponse) =>
          response
            .writeHead(status, { 'content-type': 'text/plain', ...headers })
            .end(status < 300 ? 'ok' : `status ${status}`);
        if (delayMs > 0) setTimeout(() => answer(res), delayMs);
        else answer(res);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  url(path = '/'): string {
    if (!this.port) throw new Error('WebhookServer not started');
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Requests that carried this alert id header. */
  forAlert(id: string): ReceivedWebhook[] {
    return this.received.filter((request) => request.headers['x-switchyard-alert-id'] === id);
  }
}

/** Polls `check` until it returns a value that is not undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
