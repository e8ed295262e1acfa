import { statusOf, headersOf } from './domain-error-status';
import { RouteIndex } from './route-index';

describe('RouteIndex', () => {
  const index = new RouteIndex({
    paths: {
      '/v1/models': { get: {} },
      '/v1/models/{model}': { get: {} },
      '/api/flags/{key}': { get: {}, patch: {}, delete: {} },
    },
  } as never);

  it('answers a documented path asked with another method 405 with Allow, matched as Express routes', () => {
    for (const path of ['/api/flags/checkout', '/API/Flags/checkout/', '/api/flags/a.b']) {
      const refusal = index.refusal('POST', path);
      expect([statusOf(refusal), headersOf(refusal)]).toEqual([405, { allow: 'GET, DELETE, PATCH' }]);
    }
  });

  it('answers a path no route has 404, on /v1 naming the routes there', () => {
    const v1 = index.refusal('POST', '/v1/embeddings');
    expect([statusOf(v1), v1.code]).toEqual([404, 'unknown_route']);
    expect(v1.message).toContain('Its OpenAI-compatible routes are GET /v1/models, GET /v1/models/{model};');
    // A path parameter stands for one segment only.
    expect(statusOf(index.refusal('POST', '/v1/models/a/b'))).toBe(404);
    expect(index.refusal('GET', '/metrics/x').message).toBe(
      'No route GET /metrics/x. The API is described at /docs (its OpenAPI document at /docs-json).',
    );
  });
});
