import { Agent, createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InFlightRequests } from './in-flight-requests';

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
}

/** A real server whose handler holds each response until the test answers it by name. */
async function startServer(): Promise<{
  server: Server;
  tracker: InFlightRequests;
  held: Map<string, ServerResponse>;
}> {
  const server = createServer();
  const tracker = new InFlightRequests(server);
  const held = new Map<string, ServerResponse>();
  server.on('request', (req, res) => held.set(req.url as string, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, tracker, held };
}

// Keep-alive, as load balancers and SDKs connect: an answer says `Connection: close` only if the server decided so.
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function get(server: Server, path: string): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode as number, connection: res.headers.connection, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('InFlightRequests', () => {
  let server: Server;
  afterAll(() => agent.destroy());
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('counts requests until their responses close, whatever order they finish in', async () => {
    const started = await startServer();
    server = started.server;
    const paths = ['/a', '/b', '/c', '/d', '/e'];
    const answers = paths.map((path) => get(server, path));
    await until(() => started.held.size === paths.length);
    expect(started.tracker.count).toBe(5);

    // Out of order: the middle, the first, the last, then the rest.
    for (const [finished, path] of ['/c', '/a', '/e', '/b', '/d'].entries()) {
      started.held.get(path)?.end(path);
      await until(() => started.tracker.count === paths.length - finished - 1);
    }
    expect((await Promise.all(answers)).map((answer) => answer.body)).toEqual(paths);
    expect(started.tracker.count).toBe(0);
  });

  it('stopAccepting waits for every request in flight, whose answers then carry Connection: close', async () => {
    const started = await startServer();
    server = started.server;
    const answers = ['/quick', '/slow', '/brisk', '/slower'].map((path) => get(server, path));
    await until(() => started.held.size === 4);
    // Two finish before the shutdown, out of order: the ones left must still be the ones it reaches.
    started.held.get('/brisk')?.end('brisk');
    started.held.get('/quick')?.end('quick');
    await until(() => started.tracker.count === 2);

    const stopped = started.tracker.stopAccepting(60_000);
    started.held.get('/slower')?.end('later');
    started.held.get('/slow')?.end('sooner');
    expect(await stopped).toBe(0);
    expect(await Promise.all(answers)).toEqual([
      { status: 200, connection: 'keep-alive', body: 'quick' },
      { status: 200, connection: 'close', body: 'sooner' },
      { status: 200, connection: 'keep-alive', body: 'brisk' },
      { status: 200, connection: 'close', body: 'later' },
    ]);
    expect(server.listening).toBe(false);
  });

  it('stopAccepting gives up after its bound and reports how many are still running', async () => {
    const started = await startServer();
    server = started.server;
    const answer = get(server, '/stuck');
    await until(() => started.held.size === 1);

    expect(await started.tracker.stopAccepting(20)).toBe(1);
    started.held.get('/stuck')?.end('at last');
    expect((await answer).body).toBe('at last');
  });
});
