import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import type { TestApp } from './test-app';
import { api } from './test-app';

/** The prompt the budget tests send: 17 bytes, so its reservation bound is 17 + 3 + 3 = 23 tokens. */
export const PROMPT = [{ role: 'user', content: 'Recommend a book.' }];
export const PROMPT_BOUND_TOKENS = 23;
/** What the simulator reports for PROMPT (4 characters a token, 4 a message). */
export const SIMULATED_PROMPT_TOKENS = 9;
/** max_tokens of every budget test request: the simulator answers 16 tokens, so the cap is exact. */
export const MAX_TOKENS = 16;

/** Picodollars of `tokens` at a price per million: the catalog's arithmetic. */
export function pico(tokens: number, pricePer1M: number): bigint {
  return BigInt(tokens) * BigInt(Math.round(pricePer1M * 1_000_000));
}

/** A USD decimal string of picodollars, 12 decimals. */
export function usd(picodollars: bigint): string {
  const digits = picodollars.toString().padStart(13, '0');
  return `${digits.slice(0, -12)}.${digits.slice(-12)}`;
}

export function picoOfUsd(value: string | number): bigint {
  const [whole, fraction = ''] = (typeof value === 'number' ? value.toFixed(12) : value).split('.');
  return BigInt(whole + fraction.padEnd(12, '0').slice(0, 12));
}

export interface Answer {
  status: number;
  headers: Headers;
  body: { error?: { message: string; type: string; code: string | null }; [field: string]: unknown };
}

/** POST /v1/chat/completions with fetch (many at once, no supertest agent per request). */
export async function chat(
  app: TestApp,
  key: string,
  body: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${app.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ model: 'gpt-4.1', messages: PROMPT, max_tokens: MAX_TOKENS, ...body }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
}

export async function createKey(app: TestApp, name: string): Promise<{ id: string; key: string }> {
  const response = await api(app)
    .post('/api/keys')
    .send({ name, scopes: ['gateway'] })
    .expect(201);
  return { id: response.body.id, key: response.body.key };
}

export async function createBudget(app: TestApp, body: Record<string, unknown>): Promise<{ id: string }> {
  const response = await api(app).post('/api/budgets').send(body);
  if (response.status !== 201) throw new Error(`budget not created: ${response.status} ${response.text}`);
  return response.body;
}

/**
 * Counts the statements that touch a budget table, on every connection of the app's pool: each
 * connection's `query` is wrapped when the pool hands it out.
 */
export class BudgetQueryCounter {
  count = 0;
  readonly texts: string[] = [];
  private readonly wrapped = new WeakSet<PoolClient>();
  private readonly onAcquire = (client: PoolClient) => {
    if (this.wrapped.has(client)) return;
    this.wrapped.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0];
      const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '');
      if (/\bbudget(s|_periods|_leases|_hourly_spend)\b/i.test(text)) {
        this.count++;
        this.texts.push(text.slice(0, 120));
      }
      return query(...args);
    };
  };
  private readonly pool: Pool;

  constructor(app: TestApp) {
    this.pool = (app.app.get(DataSource).driver as unknown as { master: Pool }).master;
    this.pool.on('acquire', this.onAcquire);
  }

  stop(): void {
    this.pool.off('acquire', this.onAcquire);
  }
}
