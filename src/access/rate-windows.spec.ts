import { RateWindows, WINDOW_MS, type WindowRow } from './rate-windows';

const T0 = 1_800_000_000_000 - (1_800_000_000_000 % WINDOW_MS);
const rpm = (n: number) => ({ requestsPerMinute: n, tokensPerMinute: null });

/** A stand-in for the api_key_usage table: sums what every replica sends. */
class SharedTable {
  private rows = new Map<string, WindowRow>();
  sync(windows: RateWindows, now: number): void {
    const batch = windows.startSync(now);
    const totals: WindowRow[] = [];
    for (const delta of batch.deltas) {
      const id = `${delta.keyId}@${delta.windowStart}`;
      const row = this.rows.get(id) ?? { keyId: delta.keyId, windowStart: delta.windowStart, requests: 0, tokens: 0 };
      row.requests += delta.requests;
      row.tokens += delta.tokens;
      this.rows.set(id, row);
      totals.push({ ...row });
    }
    for (const row of this.rows.values()) if (row.windowStart === batch.currentWindowStart) totals.push({ ...row });
    windows.completeSync(totals, batch.currentWindowStart);
  }
}

describe('RateWindows', () => {
  it('lets the limit through in a window, refuses the rest with the seconds to the window end, and starts again next window', () => {
    const windows = new RateWindows();
    const results = Array.from({ length: 4 }, () => windows.admit('k', rpm(3), T0 + 15_000));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[0].headers).toEqual({
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '2',
      'x-ratelimit-reset-requests': '45s',
    });
    expect(results[3]).toMatchObject({
      exceeded: 'requests',
      retryAfterSeconds: 45,
      headers: { 'x-ratelimit-remaining-requests': '0' },
    });
    expect(windows.admit('k', rpm(3), T0 + WINDOW_MS).allowed).toBe(true);
  });

  it('refuses once the tokens of finished requests reached the token limit', () => {
    const windows = new RateWindows();
    const limits = { requestsPerMinute: null, tokensPerMinute: 100 };
    expect(windows.admit('k', limits, T0).headers['x-ratelimit-remaining-tokens']).toBe('100');
    windows.addTokens('k', 60, T0 + 1);
    expect(windows.admit('k', limits, T0 + 2)).toMatchObject({
      allowed: true,
      headers: { 'x-ratelimit-remaining-tokens': '40' },
    });
    windows.addTokens('k', 60, T0 + 3);
    expect(windows.admit('k', limits, T0 + 4)).toMatchObject({
      allowed: false,
      exceeded: 'tokens',
      headers: { 'x-ratelimit-remaining-tokens': '0' },
    });
  });

  it('shares one quota between replicas that sync through the same table', () => {
    const table = new SharedTable();
    const [a, b] = [new RateWindows(), new RateWindows()];
    const send = (replica: RateWindows, at: number) => {
      const allowed = replica.admit('k', rpm(10), at).allowed;
      table.sync(replica, at + 1);
      return allowed;
    };
    const fromA = Array.from({ length: 6 }, (_, i) => send(a, T0 + i * 10));
    const fromB = Array.from({ length: 6 }, (_, i) => send(b, T0 + 100 + i * 10));
    expect(fromA.filter(Boolean)).toHaveLength(6);
    expect(fromB).toEqual([true, true, true, true, false, false]);
  });

  it('knows what other replicas counted for a key it has not served yet, once it has synced', () => {
    const table = new SharedTable();
    const [a, b] = [new RateWindows(), new RateWindows()];
    for (let i = 0; i < 8; i++) a.admit('k', rpm(10), T0);
    table.sync(a, T0);
    table.sync(b, T0 + 1);
    expect([1, 2, 3].map(() => b.admit('k', rpm(10), T0 + 2).allowed)).toEqual([true, true, false]);
  });

  it('over-admits by at most what the other replica counted since the last sync', () => {
    const table = new SharedTable();
    const [a, b] = [new RateWindows(), new RateWindows()];
    table.sync(b, T0);
    for (let i = 0; i < 10; i++) a.admit('k', rpm(10), T0 + 1);
    // b has not synced since: it lets through what it would have refused, until its next sync.
    expect(b.admit('k', rpm(10), T0 + 2).allowed).toBe(true);
    table.sync(a, T0 + 3);
    table.sync(b, T0 + 4);
    expect(b.admit('k', rpm(10), T0 + 5).allowed).toBe(false);
  });

  it('sends again what a failed sync could not deliver, and forgets windows that are over', () => {
    const table = new SharedTable();
    const windows = new RateWindows();
    windows.admit('k', rpm(10), T0);
    windows.startSync(T0 + 1);
    windows.failSync();
    table.sync(windows, T0 + 2);
    const other = new RateWindows();
    other.admit('k', rpm(10), T0 + 3);
    table.sync(other, T0 + 4);
    expect(other.admit('k', rpm(10), T0 + 5).headers['x-ratelimit-remaining-requests']).toBe('7');
    table.sync(windows, T0 + WINDOW_MS + 1);
    expect(windows.size).toBe(0);
  });

  it('counts a sync that committed unconfirmed once: in flight until then, in the totals after', () => {
    const table = new SharedTable();
    const windows = new RateWindows();
    for (let i = 0; i < 3; i++) windows.admit('k', rpm(10), T0);
    // The sync's answer is lost after it committed: the shared row holds its 3 requests.
    const batch = windows.startSync(T0 + 1);
    table.sync(Object.assign(new RateWindows(), { startSync: () => batch, completeSync: () => undefined }), T0 + 1);
    expect(windows.admit('k', rpm(10), T0 + 2).headers['x-ratelimit-remaining-requests']).toBe('6');
    windows.inFlightStored();
    table.sync(windows, T0 + 3);
    // 4 admitted so far: this is the 5th (3 counted twice would leave 2).
    expect(windows.admit('k', rpm(10), T0 + 4).headers['x-ratelimit-remaining-requests']).toBe('5');
  });

  it('sends no headers and never refuses a key without limits', () => {
    const windows = new RateWindows();
    const result = windows.admit('k', { requestsPerMinute: null, tokensPerMinute: null }, T0);
    expect(result).toMatchObject({ allowed: true, headers: {} });
  });
});
