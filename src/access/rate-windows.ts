/**
 * Per-key request and token counts in fixed one-minute windows, as one replica sees them. Pure logic:
 * no clock, no database (UsageLimiter does the I/O), so it is unit-tested alone.
 *
 * A replica counts locally and, every sync interval, adds what it counted since the last sync to the
 * shared row of the window in Postgres, then reads every key's totals of the current window (also of
 * keys it has not served yet). Admission uses `every replica's total as of the last sync + what this
 * replica counted since`. So another replica's requests are seen at most about one sync interval
 * late: with N replicas a key can get up to about (N - 1) × (its request rate on one replica × the
 * sync interval) more requests than its limit in a window — a few requests at 200 ms — and never
 * fewer than its limit.
 */

export const WINDOW_MS = 60_000;

export interface Limits {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
}

export interface Counts {
  requests: number;
  tokens: number;
}

export interface WindowRow extends Counts {
  keyId: string;
  windowStart: number;
}

export interface Admission {
  allowed: boolean;
  /** Which limit refused the request. */
  exceeded?: 'requests' | 'tokens';
  /** Seconds until the window ends (Retry-After on a refusal). */
  retryAfterSeconds: number;
  /** OpenAI's x-ratelimit-* headers, for the limits the key has. */
  headers: Record<string, string>;
}

interface Window {
  keyId: string;
  start: number;
  /** Every replica's counts at the last sync (ours included). */
  global: Counts;
  /** Counted here and being sent right now. */
  inFlight: Counts;
  /** Counted here since; not sent yet. */
  pending: Counts;
}

export interface SyncBatch {
  /** Windows with counts to add: upsert them and read their totals back. */
  deltas: WindowRow[];
  /** The current window: read every key's totals of it (other replicas may have counted). */
  currentWindowStart: number;
}

export function windowStartOf(now: number): number {
  return Math.floor(now / WINDOW_MS) * WINDOW_MS;
}

const zero = (): Counts => ({ requests: 0, tokens: 0 });

export class RateWindows {
  private readonly windows = new Map<string, Window>();

  get size(): number {
    return this.windows.size;
  }

  /** Counts the request when it is let through; a refused request is not counted. */
  admit(keyId: string, limits: Limits, now: number): Admission {
    const window = this.windowOf(keyId, now);
    const requests = window.global.requests + window.inFlight.requests + window.pending.requests;
    const tokens = window.global.tokens + window.inFlight.tokens + window.pending.tokens;
    const resetMs = window.start + WINDOW_MS - now;
    const retryAfterSeconds = Math.max(1, Math.ceil(resetMs / 1000));
    const { requestsPerMinute: rpm, tokensPerMinute: tpm } = limits;
    let exceeded: Admission['exceeded'];
    if (rpm !== null && requests >= rpm) exceeded = 'requests';
    else if (tpm !== null && tokens >= tpm) exceeded = 'tokens';
    if (!exceeded) window.pending.requests++;
    const headers: Record<string, string> = {};
    const reset = `${retryAfterSeconds}s`;
    if (rpm !== null) {
      headers['x-ratelimit-limit-requests'] = String(rpm);
      headers['x-ratelimit-remaining-requests'] = String(Math.max(0, rpm - requests - (exceeded ? 0 : 1)));
      headers['x-ratelimit-reset-requests'] = reset;
    }
    if (tpm !== null) {
      headers['x-ratelimit-limit-tokens'] = String(tpm);
      headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, tpm - tokens));
      headers['x-ratelimit-reset-tokens'] = reset;
    }
    return { allowed: !exceeded, exceeded, retryAfterSeconds, headers };
  }

  /** Tokens of a finished request, counted in the current window. */
  addTokens(keyId: string, tokens: number, now: number): void {
    if (tokens > 0) this.windowOf(keyId, now).pending.tokens += tokens;
  }

  /**
   * What to send now. Pending counts move to in-flight until `completeSync` or `failSync`; windows
   * that are over and have nothing left to send are forgotten.
   */
  startSync(now: number): SyncBatch {
    const current = windowStartOf(now);
    const batch: SyncBatch = { deltas: [], currentWindowStart: current };
    for (const [id, window] of this.windows) {
      if (window.pending.requests > 0 || window.pending.tokens > 0) {
        window.inFlight = window.pending;
        window.pending = zero();
        batch.deltas.push({ keyId: window.keyId, windowStart: window.start, ...window.inFlight });
      } else if (window.start !== current) {
        this.windows.delete(id);
      }
    }
    return batch;
  }

  /**
   * The totals the database answered (for the windows sent, and every key's current window): the
   * in-flight counts are part of them now. A key this replica has not served yet starts from them.
   */
  completeSync(totals: WindowRow[], currentWindowStart: number): void {
    for (const row of totals) {
      const id = idOf(row.keyId, row.windowStart);
      let window = this.windows.get(id);
      if (!window) {
        if (row.windowStart !== currentWindowStart) continue;
        window = { keyId: row.keyId, start: row.windowStart, global: zero(), inFlight: zero(), pending: zero() };
        this.windows.set(id, window);
      }
      window.global = { requests: row.requests, tokens: row.tokens };
      window.inFlight = zero();
    }
  }

  /** A sync Postgres did not confirm did commit: what was in flight is part of the shared totals. */
  inFlightStored(): void {
    for (const window of this.windows.values()) {
      window.global = {
        requests: window.global.requests + window.inFlight.requests,
        tokens: window.global.tokens + window.inFlight.tokens,
      };
      window.inFlight = zero();
    }
  }

  /** The sync did not commit: what was in flight is sent again next time. */
  failSync(): void {
    for (const window of this.windows.values()) {
      window.pending = {
        requests: window.pending.requests + window.inFlight.requests,
        tokens: window.pending.tokens + window.inFlight.tokens,
      };
      window.inFlight = zero();
    }
  }

  private windowOf(keyId: string, now: number): Window {
    const start = windowStartOf(now);
    const id = idOf(keyId, start);
    let window = this.windows.get(id);
    if (!window) {
      window = { keyId, start, global: zero(), inFlight: zero(), pending: zero() };
      this.windows.set(id, window);
    }
    return window;
  }
}

function idOf(keyId: string, windowStart: number): string {
  return `${keyId}@${windowStart}`;
}
