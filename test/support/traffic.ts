import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { TestApp } from './test-app';
import { eventually } from './webhook-server';

const hello = [{ role: 'user', content: 'Recommend a book.' }];

/**
 * Requests through a policy from many users, as fast as a few workers can send them, until stopped.
 * `extra` is merged into every request body (e.g. `tools`).
 */
export class Traffic {
  private running = true;
  private readonly workers: Promise<void>[];
  /** Requests the gateway answered (each has its metric row, stored or about to be). */
  answered = 0;

  constructor(
    app: TestApp,
    policy: string,
    concurrency = 6,
    private readonly extra: Record<string, unknown> = {},
  ) {
    this.workers = Array.from({ length: concurrency }, () => this.work(app, policy));
  }

  private async work(app: TestApp, policy: string): Promise<void> {
    while (this.running) {
      const response = await fetch(`${app.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-user-id': randomUUID(),
          authorization: `Bearer ${app.adminKey}`,
        },
        body: JSON.stringify({ model: `route:${policy}`, messages: hello, ...this.extra }),
      }).catch(() => undefined);
      if (!response) continue;
      await response.arrayBuffer();
      this.answered++;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }
}

/** One arm's rows as the canary and the guardrail count them (client aborts excluded). */
export interface ArmRows {
  requests: number;
  /** Errors, and requests a fallback model rescued. */
  failures: number;
}

/**
 * Where a window starts: a time, or a running stage as the API shows it, whose window also leaves out
 * rows routed by an older flag version than the stage's weights (StageJudge counts it so).
 */
export type WindowStart = string | Date | { startedAt: string; flagVersion: number | null };

/** The window's condition, its time and version the parameters `$at` and `$at + 1`. */
const windowSql = (at: number) => `at >= $${at} AND ($${at + 1}::int IS NULL OR flag_version >= $${at + 1})`;

function windowParams(from: WindowStart): [Date, number | null] {
  if (typeof from === 'string' || from instanceof Date) return [new Date(from), null];
  return [new Date(from.startedAt), from.flagVersion];
}

/**
 * The request_metrics rows of a flag, read on one connection: tests wait for the rows a decision
 * needs to be stored (the writer flushes on its own timer) by polling for them, never by sleeping.
 */
export class MetricRows {
  private constructor(private readonly client: Client) {}

  static async open(databaseUrl: string): Promise<MetricRows> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    return new MetricRows(client);
  }

  async close(): Promise<void> {
    await this.client.end();
  }

  /** Rows of `flag`'s `variant` in the window from `from` (a stage's start, or the stage: its rows as it counts them). */
  async arm(flag: string, variant: string, from: WindowStart): Promise<ArmRows> {
    const { rows } = await this.client.query(
      `SELECT count(*)::int AS requests, count(*) FILTER (WHERE outcome <> 'ok' OR fallback)::int AS failures
         FROM request_metrics
        WHERE flag = $1 AND variant = $2 AND ${windowSql(3)} AND outcome <> 'client_aborted'`,
      [flag, variant, ...windowParams(from)],
    );
    return rows[0] as ArmRows;
  }

  async count(flag: string, from: WindowStart): Promise<number> {
    const { rows } = await this.client.query(
      `SELECT count(*)::int AS n FROM request_metrics WHERE flag = $1 AND ${windowSql(2)}`,
      [flag, ...windowParams(from)],
    );
    return rows[0].n as number;
  }

  /** Waits until every arm named in `enough` satisfies its condition. */
  async waitFor(
    flag: string,
    from: WindowStart,
    enough: Record<string, (rows: ArmRows) => boolean>,
    timeoutMs = 30_000,
  ): Promise<Record<string, ArmRows>> {
    return eventually(
      async () => {
        const arms: Record<string, ArmRows> = {};
        for (const [variant, ok] of Object.entries(enough)) {
          arms[variant] = await this.arm(flag, variant, from);
          if (!ok(arms[variant])) return undefined;
        }
        return arms;
      },
      timeoutMs,
      `metric rows of ${flag} (${Object.keys(enough).join(', ')})`,
    );
  }

  /**
   * Waits until every request `traffic` sent (all of it since `from`, and the only traffic of `flag`)
   * has its row: the window is complete, and every tick judges the same rows.
   */
  async waitForAll(flag: string, from: WindowStart, traffic: Traffic, timeoutMs = 30_000): Promise<number> {
    return eventually(
      async () => {
        const stored = await this.count(flag, from);
        return stored >= traffic.answered ? stored : undefined;
      },
      timeoutMs,
      `all ${traffic.answered} rows of ${flag}`,
    );
  }
}

/** At least `n` requests. */
export const atLeast =
  (n: number) =>
  (rows: ArmRows): boolean =>
    rows.requests >= n;
