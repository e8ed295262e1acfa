import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';

/**
 * The floor any Node gateway can reach: node:http in, an undici keep-alive pool out, nothing else.
 * Standalone: `node dist/bench/bare-proxy.js <port> <upstream-origin>`.
 */
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
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

export async function startBareProxy(port: number, upstreamOrigin: string, host = '127.0.0.1'): Promise<Server> {
  const pool = new Pool(upstreamOrigin, { connections: 128, pipelining: 1 });
  const server = createServer({ noDelay: true }, (req, res) => {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    pool
      .request({
        method: req.method as 'POST',
        path: req.url ?? '/',
        headers: endToEnd(req.headers) as Record<string, string>,
        body: hasBody ? req : null,
      })
      .then(async (upstream) => {
        res.writeHead(upstream.statusCode, endToEnd(upstream.headers));
        await pipeline(upstream.body, res);
      })
      .catch(() => {
        if (!res.headersSent)
          res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"message":"bad gateway"}}');
        else res.destroy();
      });
  });
  server.on('close', () => void pool.close());
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
  return server;
}

if (require.main === module) {
  const [port, origin] = [Number(process.argv[2] ?? 0), process.argv[3]];
  if (!origin) throw new Error('usage: node dist/bench/bare-proxy.js <port> <upstream-origin>');
  void startBareProxy(port, origin).then((server) => {
    console.log(`bare proxy listening on http://127.0.0.1:${(server.address() as AddressInfo).port} -> ${origin}`);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
  });
}
