import { isRetryableStatus } from './retryable';

describe('isRetryableStatus', () => {
  it.each([408, 409, 429, 500, 501, 502, 503, 504, 507, 520, 529, 599])('retries %d', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });

  it.each([200, 204, 301, 304, 400, 401, 403, 404, 413, 422, 428, 431, 499, 600, 0, -1, 500.5, Number.NaN])(
    'never retries %d',
    (status) => {
      expect(isRetryableStatus(status)).toBe(false);
    },
  );
});
