import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Pool, type Dispatcher } from 'undici';

/**
 * The floor any Node gateway can reach: node:http in, a keep-alive pool out, nothing else. Standalone:
 * `node dist/bench/bare-proxy.js <port> <upstream-origin> [variant]`.
 *
 * Variants, each the fastest way we found to use its client (docs/benchmarks.md has the comparison);
 * the bench's `proxy` target runs the fastest, FASTEST_VARIANT:
 * - `stream`: the small request body buffered, undici `Pool.stream` writing the answer straight into
 *   the response (no Readable in between);
 * - `request`: the request body streamed into undici `Pool.request`, the answer piped back (the bench's
 *   proxy until commit 215af93);
 * - `dispatch`: buffered body, undici's raw dispatch handler writing each chunk to the response;
 * - `node-http`: buffered body, node:http's own client with a keep-alive Agent, piped back.
 */
export const PROXY_VARIANTS = ['stream', 'request', 'dispatch', 'node-http'] as const;
export type ProxyVariant = (typeof PROXY_VARIANTS)[number];
export const FASTEST_VARIANT: ProxyVariant = 'stream';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'expect',
]);

function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function badGateway(res: ServerResponse): void {
  if (!res.headersSent)
    res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"message":"bad gateway"}}');
  else res.destroy();
}

/** The whole request body: small for a completion, and a Buffer is the cheapest body for every client. */
function readBody(req: IncomingMessage, done: (body: Buffer | null) => void): void {
  if (req.method === 'GET' || req.method === 'HEAD') return done(null);
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  req.on('end', () => done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function streamHandler(pool: Pool): Handler {
  return (req, res) =>
    readBody(req, (body) => {
      pool
        .stream(
          {
            method: req.method as Dispatcher.HttpMethod,
            path: req.url ?? '/',
            headers: endToEnd(req.headers) as Record<string, string>,
            body,
          },
          ({ statusCode, headers }) => {
            res.writeHead(statusCode, endToEnd(headers));
            return res;
          },
        )
        .catch(() => badGateway(res));
    });
}

function requestHandler(pool: Pool): Handler {
  return (req, res) => {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    pool
      .request({
        method: req.method as Dispatcher.HttpMethod,
        path: req.url ?? '/',
        headers: endToEnd(req.headers) as Record<string, string>,
        body: hasBody ? req : null,
      })
      .then(async (upstream) => {
        res.writeHead(upstream.statusCode, endToEnd(upstream.headers));
        await pipeline(upstream.body, res);
      })
      .catch(() => badGateway(res));
  };
}

function dispatchHandler(pool: Pool): Handler {
  return (req, res) =>
    readBody(req, (body) => {
      pool.dispatch(
        {
          method: req.method as Dispatcher.HttpMethod,
          path: req.url ?? '/',
          headers: endToEnd(req.headers) as Record<string, string>,
          body,
        },
        {
          onRequestStart() {
            // nothing to keep: the answer is written as it comes
          },
          onResponseStart(_controller, statusCode, headers) {
            res.writeHead(statusCode, endToEnd(headers));
          },
          onResponseData(_controller, chunk) {
            res.write(chunk);
          },
          onResponseEnd() {
            res.end();
          },
          onResponseError() {
            badGateway(res);
          },
        },
      );
    });
}

function nodeHttpHandler(origin: string): Handler {
  const url = new URL(origin);
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  return (req, res) =>
    readBody(req, (body) => {
      const headers = endToEnd(req.headers);
      if (body) headers['content-length'] = body.length;
      const upstream = httpRequest(
        { host: url.hostname, port: url.port, method: req.method, path: req.url, headers, agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
          answer.pipe(res);
        },
      );
      upstream.on('error', () => badGateway(res));
      upstream.end(body ?? undefined);
    });
}

export async function startBareProxy(
  port: number,
  upstreamOrigin: string,
  variant: ProxyVariant = FASTEST_VARIANT,
  host = '127.0.0.1',
): Promise<Server> {
  const pool = new Pool(upstreamOrigin, { connections: 128, pipelining: 1 });
  const handlers: Record<ProxyVariant, () => Handler> = {
    stream: () => streamHandler(pool),
    request: () => requestHandler(pool),
    dispatch: () => dispatchHandler(pool),
    'node-http': () => nodeHttpHandler(upstreamOrigin),
  };
  const server = createServer({ noDelay: true }, handlers[variant]());
  server.on('close', () => void pool.close());
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
  return server;
}

if (require.main === module) {
  const [port, origin, variant = FASTEST_VARIANT] = [Number(process.argv[2] ?? 0), process.argv[3], process.argv[4]];
  if (!origin || !(PROXY_VARIANTS as readonly string[]).includes(variant))
    throw new Error(`usage: node dist/bench/bare-proxy.js <port> <upstream-origin> [${PROXY_VARIANTS.join('|')}]`);
  void startBareProxy(port, origin, variant as ProxyVariant).then((server) => {
    console.log(
      `bare proxy (${variant}) listening on http://127.0.0.1:${(server.address() as AddressInfo).port} -> ${origin}`,
    );
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
  });
}
