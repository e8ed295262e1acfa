import request from 'supertest';
import { DOMAIN_ERROR_HTTP } from '../src/common/domain-error-status';
import { openAiErrorType } from '../src/common/openai-error';
import {
  exampleBodyOf,
  exampleOfParameter,
  jsonMedia,
  operationsOf,
  responseExamplesOf,
  type OpenApiDocument,
  type Operation,
} from './support/openapi';
import { createTestDatabase } from './support/test-database';
import { bearer, startTestApp, type TestApp } from './support/test-app';

/**
 * What a newcomer does in Swagger UI on a fresh start: "Try it out", then "Execute" with what the
 * page pre-fills. Every operation of the live document is executed with its example, in a sensible
 * order (creates, reads, changes, deletes; a create that needs another resource is retried once that
 * one exists), and must answer its documented success status. Nothing here names an operation, so
 * a new route is covered (and must come with examples that work) without changing this file.
 *
 * What a person would fill in by hand comes from the running app, as they would take it: path
 * parameters from the resource the collection's create made (or the first one it lists, or the
 * parameter's example), and a body's `version` (optimistic concurrency) from the resource's current
 * state.
 */
/** The OpenAI error types an answer of this status may carry (429: rate_limit_error or insufficient_quota). */
function openAiTypesOf(status: number): unknown[] {
  const ofKinds = Object.values(DOMAIN_ERROR_HTTP).filter((entry) => entry.status === status);
  return [openAiErrorType(status), ...ofKinds.map((entry) => entry.openAiType)];
}

describe('Swagger: every example succeeds as is on a fresh start, every error status has its own example', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let spec: OpenApiDocument;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ databaseUrl: database.url });
    spec = (await request(app.url).get('/docs-json').expect(200)).body as OpenApiDocument;
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  }, 30_000);

  const call = (method: string, path: string) =>
    request(app.url)
      [method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'](path)
      .set('authorization', bearer(app.adminKey!));

  /** Creates (POST on a collection), reads, changes, deletes: the order a person follows. */
  function phaseOf(operation: Operation): number {
    const hasPathParameter = operation.path.includes('{');
    if (operation.method === 'POST' && !hasPathParameter) return 0;
    if (operation.method === 'GET') return 1;
    if (operation.method === 'DELETE') return 3;
    return 2;
  }

  const successOf = (operation: Operation) => Object.keys(operation.responses).find((status) => /^2/.test(status));

  it('executes every operation with its example and gets the documented success status', async () => {
    const operations = operationsOf(spec);
    /** The body each collection's create answered, by collection path. */
    const created = new Map<string, Record<string, unknown>>();
    const hasGet = (path: string) => operations.some((op) => op.method === 'GET' && op.path === path);

    async function pathValue(operation: Operation, name: string): Promise<string | undefined> {
      const segments = operation.path.split('/');
      const collection = segments.slice(0, segments.indexOf(`{${name}}`)).join('/');
      const made = created.get(collection)?.[name];
      if (made !== undefined) return String(made);
      if (!collection.includes('{') && hasGet(collection)) {
        const listed = (await call('GET', collection)).body as unknown;
        const items = Array.isArray(listed) ? listed : (listed as { items?: unknown[] })?.items;
        const first = (items?.[0] as Record<string, unknown> | undefined)?.[name];
        if (first !== undefined) return String(first);
      }
      const parameter = operation.parameters?.find((p) => p.in === 'path' && p.name === name);
      const example = parameter ? exampleOfParameter(spec, parameter) : undefined;
      return example === undefined ? undefined : String(example);
    }

    /** The current `version` of the resource a path changes (the longest prefix with a GET), if it has one. */
    async function currentVersion(path: string, template: string): Promise<number | undefined> {
      const concrete = path.split('/');
      const templated = template.split('/');
      for (let length = concrete.length; length > 1; length--) {
        if (!hasGet(templated.slice(0, length).join('/'))) continue;
        const { body } = await call('GET', concrete.slice(0, length).join('/'));
        if (typeof (body as { version?: unknown })?.version === 'number') return (body as { version: number }).version;
      }
      return undefined;
    }

    /** Every body example of an operation (Swagger UI pre-fills the first; each must work). */
    function bodiesOf(operation: Operation): Array<{ name: string; body: unknown }> {
      const media = jsonMedia(operation.requestBody?.content);
      if (!media) return [{ name: 'no body', body: undefined }];
      const named = Object.entries(media.examples ?? {}).map(([name, example]) => ({ name, body: example.value }));
      return named.length > 0 ? named : [{ name: 'schema sample', body: exampleBodyOf(spec, operation) }];
    }

    async function execute(operation: Operation, example: { name: string; body: unknown }): Promise<string | null> {
      let path = operation.path;
      for (const [, name] of operation.path.matchAll(/\{(\w+)\}/g)) {
        const value = await pathValue(operation, name);
        if (value === undefined) return `no value for path parameter ${name}`;
        path = path.replace(`{${name}}`, encodeURIComponent(value));
      }
      const query = new URLSearchParams();
      for (const parameter of operation.parameters ?? []) {
        const value = parameter.in === 'query' ? exampleOfParameter(spec, parameter) : undefined;
        if (value !== undefined) query.set(parameter.name, String(value));
      }
      let body = structuredClone(example.body);
      if (typeof body === 'object' && body !== null && 'version' in body) {
        body = {
          ...body,
          version: (await currentVersion(path, operation.path)) ?? (body as { version: unknown }).version,
        };
      }
      const url = query.size > 0 ? `${path}?${query}` : path;
      const pending = call(operation.method, url);
      const response = await (body === undefined ? pending : pending.send(body as object));
      const expected = successOf(operation);
      if (String(response.status) === expected) {
        if (phaseOf(operation) === 0 && typeof response.body === 'object') created.set(operation.path, response.body);
        return null;
      }
      return `${operation.method} ${url} (${example.name}) answered ${response.status}, documented ${expected}: ${response.text.slice(0, 400)}`;
    }

    const queue = operations
      .flatMap((operation) => bodiesOf(operation).map((example) => ({ operation, example })))
      .sort((a, b) => phaseOf(a.operation) - phaseOf(b.operation));
    const failures = new Map<string, string>();
    for (let phase = 0; phase <= 3; phase++) {
      // A create that depends on another create (a canary needs its flag) succeeds on a later pass.
      let pending = queue.filter((item) => phaseOf(item.operation) === phase);
      for (let pass = 0; pass < 3 && pending.length > 0; pass++) {
        const failed: typeof pending = [];
        for (const item of pending) {
          const failure = await execute(item.operation, item.example);
          const id = `${item.operation.method} ${item.operation.path} ${item.example.name}`;
          if (failure) {
            failures.set(id, failure);
            failed.push(item);
          } else failures.delete(id);
        }
        if (failed.length === pending.length) break;
        pending = failed;
      }
    }
    expect([...failures.values()]).toEqual([]);
    expect(operations.length).toBeGreaterThan(20);
  });

  it('documents every error status with examples of that status', () => {
    const problems: string[] = [];
    for (const operation of operationsOf(spec)) {
      for (const status of Object.keys(operation.responses).filter((code) => Number(code) >= 400)) {
        const where = `${operation.method} ${operation.path} ${status}`;
        const examples = responseExamplesOf(operation, status);
        if (examples.length === 0) problems.push(`${where}: no example`);
        for (const example of examples) {
          const body = example as { statusCode?: unknown; error?: unknown; status?: unknown };
          const saysItsStatus =
            body.statusCode === Number(status) ||
            openAiTypesOf(Number(status)).includes((body.error as { type?: unknown } | undefined)?.type) ||
            // A health report: the same document as a 200, with status "error".
            (Number(status) === 503 && body.status === 'error');
          if (!saysItsStatus) problems.push(`${where}: example ${JSON.stringify(example).slice(0, 200)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
