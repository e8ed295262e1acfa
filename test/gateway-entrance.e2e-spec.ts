import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createConnection } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { rawRequest } from './support/raw-http';
import { bearer, startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';

const SPELLINGS = [
  '/v1/chat/completions',
  '/v1/chat/completions/',
  '/v1/chat/completions?trace=1',
  '/v1/chat/completions/?trace=1&x=y',
  '/V1/Chat/Completions',
];
const ORIGIN = 'https://dashboard.internal';
const hello = [{ role: 'user', content: 'Suggest three books for a long train journey.' }];
const INVALID_JSON = {
  error: {
    message: 'The request body is not valid JSON.',
    type: 'invalid_request_error',
    code: 'invalid_json',
    param: null,
  },
};
/** Headers whose values differ between two identical requests. */
const PER_REQUEST = new Set([
  'date',
  'x-switchyard-request-id',
  'content-length',
  'connection',
  'keep-alive',
  'server-timing',
]);

type Row = { request_id: string; outcome: string; http_status: number; error_type: string | null };

async function rowsFor(database: string, ids: string[]): Promise<Row[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = await queryRows<Row>(
      database,
      'SELECT request_id, outcome, http_status, error_type FROM request_metrics WHERE request_id = ANY($1)',
      [ids],
    );
    if (new Set(rows.map((row) => row.request_id)).size === ids.length || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function stableHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_REQUEST.has(name)));
}

function post(app: TestApp, path: string, body: string, origin?: string) {
  const call = request(app.url)
    .post(path)
    .set('authorization', bearer(app.adminKey!))
    .set('content-type', 'application/json')
    .set('x-request-id', randomUUID());
  if (origin) call.set('origin', origin);
  return call.send(body);
}

describe('gateway: one entrance for every spelling of /v1/chat/completions', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let plain: TestApp;
  let withCors: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    plain = await startTestApp({
      databaseUrl: database.url,
      env: { METRICS_FLUSH_INTERVAL_MS: '20', REQUEST_BODY_TIMEOUT_MS: '1000' },
    });
    withCors = await startTestApp({
      databaseUrl: database.url,
      env: { METRICS_FLUSH_INTERVAL_MS: '20', CORS_ORIGINS: ORIGIN },
    });
  });
  afterAll(async () => {
    await plain?.close();
    await withCors?.close();
    await database?.drop();
  });

  it('answers a malformed body identically, 400 invalid_json with exactly one row, on every spelling', async () => {
    const cases = [
      ...SPELLINGS.map((path) => ({ app: plain, path, origin: undefined })),
      ...SPELLINGS.map((path) => ({ app: withCors, path, origin: undefined })),
      ...SPELLINGS.map((path) => ({ app: withCors, path, origin: ORIGIN })),
    ];
    const responses = [];
    for (const { app, path, origin } of cases) responses.push(await post(app, path, '{"model": ', origin));
    for (const response of responses)
      expect({ status: response.status, body: response.body }).toEqual({
        status: 400,
        body: INVALID_JSON,
      });
    // Same headers on every spelling of one app and origin.
    for (let group = 0; group < 3; group++) {
      const headers = responses.slice(group * SPELLINGS.length, (group + 1) * SPELLINGS.length);
      for (const response of headers)
        expect(stableHeaders(response.headers)).toEqual(stableHeaders(headers[0].headers));
    }
    const ids = responses.map((response) => response.headers['x-switchyard-request-id']);
    const rows = await rowsFor(database.url, ids);
    expect(rows).toHaveLength(ids.length);
    for (const row of rows) {
      expect(row).toMatchObject({ outcome: 'rejected', http_status: 400, error_type: 'invalid_json' });
    }
  });

  it('answers a body that stops arriving with 408 in the OpenAI shape, closes the connection, and stores the row', async () => {
    const requestId = randomUUID();
    const url = new URL(plain.url);
    const socket = createConnection({ host: url.hostname, port: Number(url.port) });
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // Headers announce 100 bytes; 20 come, then nothing.
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: ${bearer(plain.adminKey!)}\r\n` +
        `content-type: application/json\r\ncontent-length: 100\r\nx-request-id: ${requestId}\r\n\r\n{"model":"gpt-4.1",`,
    );
    await closed;
    const [head, body] = received.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408 /);
    expect(head.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(body).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'request_body_timeout',
      message: expect.stringContaining('did not arrive within 1000 ms (REQUEST_BODY_TIMEOUT_MS)'),
    });
    expect(await rowsFor(database.url, [requestId])).toEqual([
      { request_id: requestId, outcome: 'rejected', http_status: 408, error_type: 'request_body_timeout' },
    ]);
  });

  it('records the 400 a body with a broken chunk got, not a client that left', async () => {
    const requestId = randomUUID();
    const url = new URL(plain.url);
    const socket = createConnection({ host: url.hostname, port: Number(url.port) });
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: ${bearer(plain.adminKey!)}\r\n` +
        `content-type: application/json\r\ntransfer-encoding: chunked\r\nx-request-id: ${requestId}\r\n\r\n` +
        // A first chunk, then a size that is not hexadecimal: Node's parser refuses the body half-way.
        `13\r\n{"model":"gpt-4.1",\r\nzz\r\n"messages":[]}\r\n0\r\n\r\n`,
    );
    await closed;
    const [head, body] = received.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(body).error).toMatchObject({ type: 'invalid_request_error', code: 'malformed_http' });
    expect(await rowsFor(database.url, [requestId])).toEqual([
      { request_id: requestId, outcome: 'rejected', http_status: 400, error_type: 'malformed_http' },
    ]);
  });

  it('answers what Node cannot parse with a body that says what was wrong, not a bare status line', async () => {
    const url = new URL(plain.url);
    const exchange = (text: string) =>
      new Promise<{ head: string; body: string }>((resolve) => {
        const socket = createConnection({ host: url.hostname, port: Number(url.port) });
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString()));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          const [head, body] = received.split('\r\n\r\n');
          resolve({ head, body });
        });
        socket.write(text);
      });
    const huge = await exchange(`GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge.head).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(huge.body).error).toMatchObject({
      code: 'request_headers_too_large',
      type: 'invalid_request_error',
    });
    const garbage = await exchange('NOT HTTP AT ALL\r\n\r\n');
    expect(garbage.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbage.body).error.code).toBe('malformed_http');
    const expectation = await exchange(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nexpect: 200-ok\r\ncontent-length: 2\r\n\r\n{}`,
    );
    expect(expectation.head).toMatch(/^HTTP\/1\.1 417 /);
    expect(JSON.parse(expectation.body).error).toMatchObject({
      code: 'expectation_failed',
      message: expect.stringContaining('only 100-continue is'),
    });
  });

  it('serves a completion on every spelling, with and without CORS, one row each', async () => {
    const body = JSON.stringify({ model: 'route:chat', messages: hello });
    const responses = [];
    for (const app of [plain, withCors])
      for (const path of SPELLINGS) responses.push(await post(app, path, body, ORIGIN));
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.body.object).toBe('chat.completion');
      expect(response.headers['x-switchyard-policy']).toBe('chat');
    }
    const ids = responses.map((response) => response.headers['x-switchyard-request-id']);
    const rows = await rowsFor(database.url, ids);
    expect(rows).toHaveLength(ids.length);
    for (const row of rows) expect(row).toMatchObject({ outcome: 'ok', http_status: 200 });
  });

  it('reads a body sent as gzip, deflate or br, as Express does for the operator API; refuses what it cannot read', async () => {
    const body = Buffer.from(JSON.stringify({ model: 'route:chat', messages: hello }));
    const send = (encoding: string, bytes: Buffer) =>
      fetch(`${plain.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: bearer(plain.adminKey!),
          'content-type': 'application/json',
          'content-encoding': encoding,
        },
        body: new Uint8Array(bytes),
      });
    const answers: { encoding: string; status: number; body: { error?: { code: string; message: string } } }[] = [];
    const ids: string[] = [];
    const cases: [string, Buffer][] = [
      ['gzip', gzipSync(body)],
      ['deflate', deflateSync(body)],
      ['br', brotliCompressSync(body)],
      ['GZip', gzipSync(body)],
      ['zstd', body],
      ['gzip', body],
      // 5 MB of JSON whitespace in 5 KB: refused once it inflates past the 4 MB limit.
      [
        'gzip',
        gzipSync(
          Buffer.concat([
            Buffer.from('{"model":"route:chat","messages":[]'),
            Buffer.alloc(5 << 20, ' '),
            Buffer.from('}'),
          ]),
        ),
      ],
    ];
    for (const [encoding, bytes] of cases) {
      const response = await send(encoding, bytes);
      answers.push({ encoding, status: response.status, body: await response.json() });
      ids.push(response.headers.get('x-switchyard-request-id')!);
    }
    expect(answers.map(({ encoding, status }) => [encoding, status])).toEqual([
      ['gzip', 200],
      ['deflate', 200],
      ['br', 200],
      ['GZip', 200],
      ['zstd', 415],
      ['gzip', 400],
      ['gzip', 413],
    ]);
    expect(answers[4].body.error).toMatchObject({
      code: 'unsupported_content_encoding',
      message:
        'The request body\'s Content-Encoding "zstd" is not supported; send it uncompressed or as gzip, x-gzip, deflate, br.',
    });
    expect(answers[5].body.error?.code).toBe('invalid_content_encoding');
    expect(answers[6].body.error?.code).toBe('request_too_large');
    // The operator API says the same of the same encoding.
    const operator = await fetch(`${plain.url}/api/flags`, {
      method: 'POST',
      headers: {
        authorization: bearer(plain.adminKey!),
        'content-type': 'application/json',
        'content-encoding': 'zstd',
      },
      body: '{}',
    });
    expect(operator.status).toBe(415);
    const rows = await rowsFor(database.url, ids);
    expect(Object.fromEntries(rows.map((row) => [row.request_id, [row.outcome, row.http_status]]))).toEqual(
      Object.fromEntries(
        ids.map((id, index) => [id, answers[index].status === 200 ? ['ok', 200] : ['rejected', answers[index].status]]),
      ),
    );
  });

  it('refuses a body that is not application/json with 415 naming it, before reading it; takes any spelling of that type', async () => {
    const body = JSON.stringify({ model: 'route:chat', messages: hello });
    const send = (type: string) =>
      request(plain.url)
        .post('/v1/chat/completions')
        .set('authorization', bearer(plain.adminKey!))
        .set('content-type', type)
        .set('x-request-id', randomUUID())
        .send(body);
    const refused = [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/vnd.api+json',
      'application/json; charset=latin1',
    ];
    const ids: string[] = [];
    for (const type of refused) {
      const response = await send(type);
      expect([type, response.status, response.body]).toEqual([
        type,
        415,
        {
          error: {
            message: `The request body must be JSON in UTF-8 with Content-Type: application/json (got ${JSON.stringify(type)}).`,
            type: 'invalid_request_error',
            code: 'unsupported_content_type',
            param: null,
          },
        },
      ]);
      ids.push(response.headers['x-switchyard-request-id']);
    }
    // No Content-Type at all: fetch and superagent always add one, node:http does not.
    const untyped = await rawRequest(plain.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: bearer(plain.adminKey!) },
      body,
    });
    expect([untyped.status, JSON.parse(untyped.text).error.message]).toEqual([
      415,
      'The request body must be JSON in UTF-8 with Content-Type: application/json (got no Content-Type).',
    ]);
    ids.push(untyped.headers['x-switchyard-request-id'] as string);
    // Answered from the headers alone: a body that never arrives would otherwise get 408 once
    // REQUEST_BODY_TIMEOUT_MS has passed.
    const unsent = await new Promise<{ status: number; code: string }>((resolve, reject) => {
      const url = new URL(plain.url);
      const call = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { authorization: bearer(plain.adminKey!), 'content-type': 'text/plain', 'content-length': 100 },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => {
            call.destroy();
            resolve({ status: res.statusCode!, code: JSON.parse(text).error.code });
          });
        },
      );
      call.on('error', reject);
      call.write('{"model":"gpt-4.1",');
    });
    expect(unsent).toEqual({ status: 415, code: 'unsupported_content_type' });
    for (const type of ['application/json; charset=utf-8', 'Application/JSON', 'application/json;charset="UTF-8"']) {
      const response = await send(type);
      expect([type, response.status, response.body.object]).toEqual([type, 200, 'chat.completion']);
    }
    const rows = await rowsFor(database.url, ids);
    expect(rows).toHaveLength(ids.length);
    for (const row of rows)
      expect(row).toMatchObject({ outcome: 'rejected', http_status: 415, error_type: 'unsupported_content_type' });
  });

  it('adds the same CORS headers as Express on every spelling, and none with CORS off', async () => {
    for (const origin of [ORIGIN, 'https://elsewhere.example', undefined]) {
      const express = request(withCors.url).get('/v1/models').set('authorization', bearer(withCors.adminKey!));
      if (origin) express.set('origin', origin);
      const expected = corsHeaders((await express.expect(200)).headers);
      expect(expected['access-control-expose-headers']).toContain('x-switchyard-model');
      for (const path of SPELLINGS) {
        const response = await post(withCors, path, '{"model": ', origin);
        expect(corsHeaders(response.headers)).toEqual(expected);
      }
    }
    for (const path of SPELLINGS) expect(corsHeaders((await post(plain, path, '{', ORIGIN)).headers)).toEqual({});
  });

  it('answers the CORS preflight of every spelling as Express does for its own routes', async () => {
    const preflight = (path: string) =>
      request(withCors.url)
        .options(path)
        .set('origin', ORIGIN)
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'authorization, content-type');
    const expected = corsHeaders((await preflight('/api/flags').expect(204)).headers);
    expect(expected).toMatchObject({
      'access-control-allow-origin': ORIGIN,
      'access-control-allow-methods': expect.stringContaining('POST'),
      'access-control-max-age': '600',
    });
    for (const path of SPELLINGS) expect(corsHeaders((await preflight(path).expect(204)).headers)).toEqual(expected);
  });
});

function corsHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary'),
  );
}
