import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { AnswerTooLargeError, AttemptTimeoutError, requestBuffered } from './buffered-request';
import { ClientAbortedError } from './cancellation';
import { Cancellation } from './cancellation';

const REQUEST = {
  method: 'POST' as const,
  path: '/v1/chat/completions',
  headers: { 'content-type': 'application/json' },
  body: '{}',
  headersTimeout: 0,
  bodyTimeout: 0,
};

describe('requestBuffered (real HTTP server on loopback)', () => {
  let server: Server;
  let pool: Pool;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Requests whose connection the server saw closing before it answered. */
  let closedEarly: number;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) closedEarly++;
      });
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 4 });
  });

  beforeEach(() => {
    closedEarly = 0;
  });

  afterAll(async () => {
    await pool.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('assembles a body sent in several chunks, with status and headers', async () => {
    handler = (_req, res) => {
      res.writeHead(429, { 'retry-after': '2', 'content-type': 'application/json' });
      res.write('{"error":');
      setTimeout(() => res.end('{"message":"slow down"}}'), 20);
    };
    const response = await requestBuffered(pool, REQUEST, new Cancellation(), 5_000);
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('2');
    expect(JSON.parse(response.body.toString('utf8'))).toEqual({ error: { message: 'slow down' } });
  });

  it('gives up after the timeout and closes the upstream connection', async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    await expect(requestBuffered(pool, REQUEST, new Cancellation(), 150)).rejects.toBeInstanceOf(AttemptTimeoutError);
    expect(Date.now() - started).toBeLessThan(2_000);
    await eventually(() => expect(closedEarly).toBe(1));
  });

  it('takes an answer of exactly the bound, and stops reading one past it, closing the connection', async () => {
    handler = (_req, res) => {
      res.write('a'.repeat(600));
      res.end('a'.repeat(400));
    };
    expect((await requestBuffered(pool, REQUEST, new Cancellation(), 5_000, 1000)).body.length).toBe(1000);
    handler = (_req, res) => {
      res.write('a'.repeat(1000));
      res.write('a'); // one byte too many; the server never ends the answer
    };
    await expect(requestBuffered(pool, REQUEST, new Cancellation(), 5_000, 1000)).rejects.toEqual(
      new AnswerTooLargeError(1000),
    );
    await eventually(() => expect(closedEarly).toBe(1));
  });

  it('abandons the call when the client goes away, and refuses to start for a client already gone', async () => {
    handler = () => undefined;
    const clientGone = new Cancellation();
    const pending = requestBuffered(pool, REQUEST, clientGone, 5_000);
    setTimeout(() => clientGone.cancel(), 50);
    await expect(pending).rejects.toBeInstanceOf(ClientAbortedError);
    await eventually(() => expect(closedEarly).toBe(1));
    await expect(requestBuffered(pool, REQUEST, clientGone, 5_000)).rejects.toBeInstanceOf(ClientAbortedError);
  });

  it("rejects with undici's error when the upstream cannot be reached", async () => {
    const nowhere = new Pool('http://127.0.0.1:9', { connections: 1 });
    try {
      await expect(requestBuffered(nowhere, REQUEST, new Cancellation(), 5_000)).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
    } finally {
      await nowhere.destroy();
    }
  });
});

async function eventually(check: () => void, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
