import { Injectable } from '@nestjs/common';
import {
  BASELINE_SECONDS,
  binSql,
  emptyBuckets,
  emptyHistogram,
  QUALITY_METRIC_KEYS,
  QUALITY_METRICS,
  RECENT_SECONDS,
  VARIANCE_BUCKETS,
  type ArmBucket,
  type ArmPooled,
  type BelowSpec,
  type ControlWindow,
  type DegradationInput,
  type HistogramName,
} from '@switchyard/stats';
import { DataSource } from 'typeorm';
import { ERROR_OUTCOMES } from './metrics-query.service';
import { QUALITY_BIT, type QualitySignal } from './quality-signals';

/*
 * The canary's reads of request_metrics: small aggregates of a window per arm, computed by
 * Postgres (libs/stats window.ts says what they are for), never raw rows. Every read goes through
 * the (flag, variant, at) index; each returns a few hundred numbers whatever the traffic.
 *
 * Which rows count (the engine's failure accounting):
 * - judged requests: every row but invalid_request (the provider refused the request's content),
 *   rejected (the gateway refused it) and those a spend budget downgraded (served by the policy's
 *   cheapest model, neither arm's, by the budget's decision): a caller's mistakes and a budget's
 *   choices count against no model;
 * - failures: upstream errors (5xx, broken streams), timeouts, upstream 429s, and answers a
 *   fallback model had to give: the row's variant is the assigned one whoever answered (intention
 *   to treat);
 * - latencies: answers of the assigned model (outcome ok, no fallback);
 * - abandonments: client_aborted rows without a first byte whose wait reached the threshold bin.
 */
export const ELIGIBLE = `(outcome NOT IN ('invalid_request', 'rejected') AND budget_action IS DISTINCT FROM 'downgrade')`;
const FAILURE = `(outcome IN (${ERROR_OUTCOMES.map((o) => `'${o}'`).join(', ')}) OR (fallback AND outcome = 'ok'))`;
const ANSWERED = `(outcome = 'ok' AND NOT fallback)`;
const STREAMED = `(${ANSWERED} AND stream AND ttft_ms IS NOT NULL)`;
/** The variance bucket of a row: its user's key, or (no user) its own random id. */
/** The variance bucket of a request_metrics row; `table` qualifies its columns in a join (outcome_events has both). */
function bucketOf(table = ''): string {
  const column = (name: string) => (table ? `${table}.${name}` : name);
  return `(CASE WHEN ${column('user_key')} IS NULL THEN get_byte(uuid_send(${column('id')}), 15) ELSE (${column('user_key')} & 255)::int END) % ${VARIANCE_BUCKETS}`;
}
const BUCKET = bucketOf();
/**
 * Quality signals (quality-signals.ts): per signal, the counter it fills and its bit. The engine's
 * keys and the row's signal names are the same words; this fails to compile if they ever part.
 */
const QUALITY_COUNTS = QUALITY_METRIC_KEYS.map((key) => {
  const signal: QualitySignal = key;
  return { counter: QUALITY_METRICS[key].numerator, column: `q_${signal}`, bit: QUALITY_BIT[signal] };
});
const QUALITY_SELECT = QUALITY_COUNTS.map(
  ({ column, bit }) => `count(*) FILTER (WHERE eligible AND quality_signals & ${bit} <> 0)::int AS ${column}`,
).join(', ');
const LATENCY_BIN = binSql('latency_ms');
const TTFT_BIN = binSql('ttft_ms');

export interface ArmWindowQuery {
  flag: string;
  variants: readonly string[];
  from: Date;
  to: Date;
  /** A stage's window: only rows routed by this flag version or a later one (null: every row). */
  sinceFlagVersion?: number | null;
}

/**
 * The window's rows: the flag's arms in [from, to), no shadow calls, and in a stage only those routed
 * by its weights or later ones. `params` starts with flag, variants, from, to; a version is appended.
 */
function windowRows(query: ArmWindowQuery, params: unknown[]): string {
  const rows = `flag = $1 AND variant = ANY($2) AND at >= $3 AND at < $4 AND NOT shadow`;
  if (query.sinceFlagVersion === undefined || query.sinceFlagVersion === null) return rows;
  return `${rows} AND flag_version >= $${params.push(query.sinceFlagVersion)}`;
}

@Injectable()
export class CanaryWindowReader {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * When the flag's traffic in the window begins: its first row in it, or the window's start when
   * the flag had rows before (its traffic did not begin in the window); null without any row in it.
   * What a preview's rate divides by (a flag whose policy began to read it minutes ago has minutes).
   */
  async dataBegins(query: ArmWindowQuery): Promise<Date | null> {
    const flag = `flag = $1 AND variant = ANY($2) AND NOT shadow`;
    const [row]: Array<{ begins: Date | null }> = await this.dataSource.query(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM request_metrics WHERE ${flag} AND at < $3) THEN $3::timestamptz
                   ELSE (SELECT min(at) FROM request_metrics WHERE ${flag} AND at >= $3 AND at < $4) END AS begins`,
      [query.flag, query.variants, query.from, query.to],
    );
    return row.begins;
  }

  /** Step 1: per variant, units, rows, judged requests and the three histograms. */
  async pooled(query: ArmWindowQuery): Promise<Map<string, ArmPooled>> {
    const params: unknown[] = [query.flag, query.variants, query.from, query.to];
    const where = windowRows(query, params);
    const [counts, bins] = await Promise.all([
      this.dataSource.query(
        `SELECT variant, count(*)::int AS rows, count(*) FILTER (WHERE ${ELIGIBLE})::int AS requests,
                (count(DISTINCT user_key) + count(*) FILTER (WHERE user_key IS NULL))::int AS units
           FROM request_metrics WHERE ${where} GROUP BY variant`,
        params,
      ) as Promise<Array<{ variant: string; rows: number; requests: number; units: number }>>,
      this.histograms(where, params, 'variant'),
    ]);
    const result = new Map<string, ArmPooled>();
    for (const variant of query.variants) {
      const row = counts.find((count) => count.variant === variant);
      result.set(variant, {
        units: row?.units ?? 0,
        rows: row?.rows ?? 0,
        requests: row?.requests ?? 0,
        histograms: bins.get(variant) ?? emptyHistograms(),
      });
    }
    return result;
  }

  /**
   * Step 2: per variant and variance bucket, the counters, abandonments past `abandonmentBin`, and
   * the rows below each planned bin (`below` per variant, in the plan's order).
   */
  async buckets(
    query: ArmWindowQuery,
    abandonmentBin: number,
    below: ReadonlyMap<string, readonly BelowSpec[]>,
  ): Promise<Map<string, ArmBucket[]>> {
    const params: unknown[] = [query.flag, query.variants, query.from, query.to, abandonmentBin];
    const where = windowRows(query, params);
    const width = Math.max(0, ...[...below.values()].map((specs) => specs.length));
    const belowColumns = Array.from({ length: width }, (_, i) => {
      const cases = [...below.entries()]
        .filter(([, specs]) => i < specs.length)
        .map(([variant, specs]) => {
          const spec = specs[i];
          const bin = spec.histogram === 'latency' ? 'lat_bin' : 'ttft_bin';
          const rows = spec.histogram === 'latency' ? 'answered' : 'streamed';
          return `(variant = $${params.push(variant)} AND ${rows} AND ${bin} < ${integer(spec.bin)})`;
        });
      return cases.length > 0 ? `count(*) FILTER (WHERE ${cases.join(' OR ')})::int` : '0';
    });
    const rows: Array<Record<string, unknown> & { variant: string; bucket: number; below: number[] }> =
      await this.dataSource.query(
        `SELECT variant, bucket, count(*)::int AS rows,
                count(*) FILTER (WHERE eligible)::int AS requests,
                count(*) FILTER (WHERE eligible AND failed)::int AS failures,
                count(*) FILTER (WHERE outcome = 'client_aborted' AND ttft_ms IS NULL AND lat_bin >= $5)::int AS abandoned,
                count(*) FILTER (WHERE outcome <> 'rejected')::int AS judged_rows,
                count(*) FILTER (WHERE outcome = 'invalid_request')::int AS invalid,
                coalesce(sum(cost_usd) FILTER (WHERE eligible), 0)::float8 AS cost_usd,
                count(*) FILTER (WHERE answered)::int AS latency_rows,
                count(*) FILTER (WHERE streamed)::int AS ttft_rows,
                count(*) FILTER (WHERE eligible AND quality_signals IS NOT NULL)::int AS answers,
                ${QUALITY_SELECT},
                ARRAY[${belowColumns.join(', ')}]::int[] AS below
           FROM (SELECT variant, outcome, ttft_ms, cost_usd, quality_signals, ${BUCKET} AS bucket,
                        ${ELIGIBLE} AS eligible, ${FAILURE} AS failed, ${ANSWERED} AS answered, ${STREAMED} AS streamed,
                        ${LATENCY_BIN} AS lat_bin, ${TTFT_BIN} AS ttft_bin
                   FROM request_metrics
                  WHERE ${where}
                 -- Not merged into the outer query, which would compute each of these once per use.
                 OFFSET 0) AS window_rows
          GROUP BY variant, bucket`,
        params,
      );
    const result = new Map<string, ArmBucket[]>();
    for (const variant of query.variants) result.set(variant, emptyBuckets(below.get(variant)?.length ?? 0));
    for (const row of rows) {
      const bucket = result.get(row.variant)?.[row.bucket];
      if (!bucket) continue;
      Object.assign(bucket.counters, {
        rows: row.rows,
        requests: row.requests,
        failures: row.failures,
        abandoned: row.abandoned,
        judgedRows: row.judged_rows,
        invalid: row.invalid,
        costUsd: row.cost_usd,
        latencyRows: row.latency_rows,
        ttftRows: row.ttft_rows,
        answers: row.answers,
      });
      for (const { counter, column } of QUALITY_COUNTS) bucket.counters[counter] = row[column] as number;
      bucket.below = row.below.slice(0, bucket.below.length);
    }
    return result;
  }

  /**
   * A defined outcome metric's counters per variant and variance bucket (`outcome:<key>:n` and
   * `:sum`), over the exposures in [from, to) whose attribution window has closed by `to`, so a
   * late outcome can still arrive for every exposure counted. The arm is the row's variant — the one
   * assigned, whichever model served (intention to treat). A shadow call's row is nobody's exposure:
   * the user never saw the candidate's answer (ingestion's ExposureLookup says the same).
   *
   * - user unit: a unit is a user with a user key; their exposure starts at their first request of the
   *   window in the arm; their value is, over the outcome events of that user within the window after
   *   it, the largest (binary: converted or not) or the sum (numeric: e.g. revenue; 0 without events).
   * - request unit: a unit is a judged request; binary: its largest event value (0 without one);
   *   numeric: the mean of its events' values, over requests that have events.
   */
  async outcomeBuckets(
    query: ArmWindowQuery,
    metric: { key: string; unit: 'request' | 'user'; type: 'binary' | 'numeric'; windowSeconds: number },
  ): Promise<Map<string, Array<{ bucket: number; n: number; sum: number }>>> {
    const params: unknown[] = [query.flag, query.variants, query.from, query.to, metric.windowSeconds, metric.key];
    const where = windowRows(query, params);
    const rows: Array<{ variant: string; bucket: number; n: number; sum: number }> =
      metric.unit === 'user'
        ? await this.dataSource.query(
            `WITH exposures AS (
               SELECT user_key, variant, min(at) AS first_at
                 FROM request_metrics
                WHERE ${where} AND user_key IS NOT NULL AND ${ELIGIBLE}
                GROUP BY user_key, variant
             ), closed AS (
               SELECT * FROM exposures WHERE first_at + make_interval(secs => $5) <= $4
             ), valued AS (
               SELECT c.variant, c.user_key,
                      ${metric.type === 'binary' ? 'coalesce(max(e.value), 0)' : 'coalesce(sum(e.value), 0)'} AS y
                 FROM closed c
                 LEFT JOIN outcome_events e
                   ON e.user_key = c.user_key AND e.metric_key = $6
                  AND e.occurred_at >= c.first_at AND e.occurred_at <= c.first_at + make_interval(secs => $5)
                GROUP BY c.variant, c.user_key
             )
             SELECT variant, ((user_key & 255)::int % ${VARIANCE_BUCKETS}) AS bucket, count(*)::int AS n, sum(y)::float8 AS sum
               FROM valued GROUP BY 1, 2`,
            params,
          )
        : await this.dataSource.query(
            `WITH requests AS (
               SELECT id, request_id, variant, user_key, at
                 FROM request_metrics
                WHERE ${where} AND ${ELIGIBLE}
                  AND at + make_interval(secs => $5) <= $4
             ), valued AS (
               SELECT r.variant, ${bucketOf('r')} AS bucket,
                      ${metric.type === 'binary' ? 'coalesce(max(e.value), 0)' : 'avg(e.value)'} AS y
                 FROM requests r
                 LEFT JOIN outcome_events e ON e.request_id = r.request_id AND e.metric_key = $6
                GROUP BY r.variant, r.id, r.user_key
             )
             SELECT variant, bucket, count(*)::int AS n, sum(y)::float8 AS sum
               FROM valued WHERE y IS NOT NULL GROUP BY 1, 2`,
            params,
          );
    const result = new Map<string, Array<{ bucket: number; n: number; sum: number }>>();
    for (const variant of query.variants) result.set(variant, []);
    for (const row of rows) result.get(row.variant)?.push({ bucket: row.bucket, n: row.n, sum: row.sum });
    return result;
  }

  /**
   * The control's last RECENT_SECONDS and the BASELINE_SECONDS before them (whatever the stage:
   * the baseline reaches back before the canary), for the control-degradation check.
   */
  async controlWindows(flag: string, control: string, now: Date): Promise<DegradationInput> {
    const recentFrom = new Date(now.getTime() - RECENT_SECONDS * 1000);
    const baselineFrom = new Date(recentFrom.getTime() - BASELINE_SECONDS * 1000);
    const params = [flag, control, baselineFrom, now, recentFrom];
    const where = `flag = $1 AND variant = $2 AND at >= $3 AND at < $4 AND NOT shadow`;
    const [counts, bins] = await Promise.all([
      this.dataSource.query(
        `SELECT (at >= $5) AS recent, count(*) FILTER (WHERE ${ELIGIBLE})::int AS requests,
                count(*) FILTER (WHERE ${ELIGIBLE} AND ${FAILURE})::int AS failures
           FROM request_metrics WHERE ${where} GROUP BY 1`,
        params,
      ) as Promise<Array<{ recent: boolean; requests: number; failures: number }>>,
      this.histograms(where, params, `CASE WHEN at >= $5 THEN 'recent' ELSE 'baseline' END`),
    ]);
    const windowOf = (recent: boolean): ControlWindow => {
      const row = counts.find((count) => count.recent === recent);
      return {
        requests: row?.requests ?? 0,
        failures: row?.failures ?? 0,
        histograms: bins.get(recent ? 'recent' : 'baseline') ?? emptyHistograms(),
      };
    };
    return { recent: windowOf(true), baseline: windowOf(false) };
  }

  /** Judged requests of the flag (every variant) in [from, to): what a stage is planned from. */
  async judgedRequests(flag: string, from: Date, to: Date): Promise<number> {
    const [row] = await this.dataSource.query(
      `SELECT count(*)::int AS requests FROM request_metrics WHERE flag = $1 AND at >= $2 AND at < $3 AND NOT shadow AND ${ELIGIBLE}`,
      [flag, from, to],
    );
    return row.requests as number;
  }

  /**
   * Latency, ttft and ttfb histograms of the answered rows, per `groupBy` value. Postgres counts
   * the rows per (latency bin, ttft bin, stream) — a few thousand groups, one pass, hashed — and the
   * three histograms are folded from those here: the ttfb bin is the ttft bin when there is a first
   * token, else the latency bin. (One row per histogram per request, joined laterally, sorted three
   * times the window's rows: 7× the time at 300 000 rows.)
   */
  private async histograms(
    where: string,
    params: unknown[],
    groupBy: string,
  ): Promise<Map<string, Record<HistogramName, number[]>>> {
    const rows: Array<{ key: string; lat: number; ttft: number | null; stream: boolean; count: number }> =
      await this.dataSource.query(
        `SELECT ${groupBy} AS key, ${LATENCY_BIN} AS lat, CASE WHEN ttft_ms IS NOT NULL THEN ${TTFT_BIN} END AS ttft,
                stream, count(*)::int AS count
           FROM request_metrics
          WHERE ${where} AND ${ANSWERED}
          GROUP BY 1, 2, 3, 4`,
        params,
      );
    const result = new Map<string, Record<HistogramName, number[]>>();
    for (const row of rows) {
      if (!result.has(row.key)) result.set(row.key, emptyHistograms());
      const histograms = result.get(row.key)!;
      histograms.latency[row.lat] += row.count;
      if (row.stream && row.ttft !== null) histograms.ttft[row.ttft] += row.count;
      histograms.ttfb[row.ttft ?? row.lat] += row.count;
    }
    return result;
  }
}

function emptyHistograms(): Record<HistogramName, number[]> {
  return { latency: emptyHistogram(), ttft: emptyHistogram(), ttfb: emptyHistogram() };
}

/** A bin number inlined into SQL: always an integer we computed, checked anyway. */
function integer(value: number): string {
  if (!Number.isInteger(value)) throw new RangeError(`bin must be an integer, got ${value}`);
  return String(value);
}
