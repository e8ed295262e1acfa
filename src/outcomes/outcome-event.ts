import { createHash, randomUUID } from 'node:crypto';
import { OutcomeEventRefused } from './outcome.errors';
import type { OutcomeMetricView } from './outcome.types';

/*
 * Reading reported outcome events, pure: the envelope (one event, or `{ "events": [...] }` of up to
 * MAX_BATCH), and each event in Switchyard's shape or OpenFeature's tracking shape, checked against
 * the metric's definition. Each problem is an OutcomeEventRefused naming the field by its path.
 * What needs the database (does the request exist, when did it arrive) is checked afterwards.
 */

export const MAX_BATCH = 1000;
/** Clocks differ between services: an occurredAt up to this far ahead is taken as now. */
export const FUTURE_SKEW_MS = 60_000;
/**
 * Nothing Switchyard answered happened before the Unix epoch; and from some 4 700 years BC on, a
 * time Postgres cannot store would fail every insert of the writer's batch, over and over.
 */
const EARLIEST_OCCURRED_AT_MS = 0;
/**
 * A numeric value's bound either way. The summary and the canary's outcome gates sum values and their
 * squares in float8: one value of 1e200 made its square overflow, and every summary over its window
 * failed. A trillion covers any revenue in cents or duration in ms, and squared sums of millions of
 * them stay far inside the range.
 */
const MAX_NUMERIC_VALUE = 1e12;
const MAX_ID_LENGTH = 200;
const MAX_USER_ID_LENGTH = 500;

export interface OutcomeEvent {
  id: string;
  /** As sent, if it was: the id is derived from it, and a conflict under it is logged by it. */
  idempotencyKey: string | null;
  metricKey: string;
  value: number;
  requestId: string | null;
  userId: string | null;
  occurredAt: Date;
  source: 'api' | 'openfeature';
  /** The metric's attribution window (request-unit events are checked against their request's arrival). */
  windowSeconds: number;
}

export type Envelope = { batch: false; items: [unknown] } | { batch: true; items: unknown[] };

/** The fields of each shape: any other is refused by name, as the operator API refuses unknown fields. */
const SWITCHYARD_FIELDS = ['metric', 'value', 'requestId', 'userId', 'occurredAt', 'idempotencyKey'];
const OPENFEATURE_FIELDS = ['trackingEventName', 'context', 'details', 'timestamp', 'requestId', 'idempotencyKey'];

export function envelopeOf(body: unknown): Envelope {
  if (isObject(body) && 'events' in body) {
    const extra = Object.keys(body).find((field) => field !== 'events');
    if (extra !== undefined)
      throw new OutcomeEventRefused(
        'invalid',
        'unknown_field',
        `${clip(extra)} is not a field of a batch ({ "events": [...] }); remove it`,
        clip(extra),
      );
    const events = body.events;
    if (!Array.isArray(events) || events.length === 0 || events.length > MAX_BATCH)
      throw new OutcomeEventRefused(
        'invalid',
        'invalid_batch',
        `events must be a list of 1 to ${MAX_BATCH} outcome events, got ${Array.isArray(events) ? `${events.length} events` : typeof events}`,
        'events',
      );
    return { batch: true, items: events };
  }
  if (!isObject(body))
    throw new OutcomeEventRefused(
      'invalid',
      'invalid_type',
      'The body must be an outcome event ({ "metric", "value", "requestId" | "userId" }) or { "events": [...] }',
      null,
    );
  return { batch: false, items: [body] };
}

/** One event, or the OutcomeEventRefused that says what is wrong with it. */
export function parseOutcomeEvent(
  raw: unknown,
  path: string,
  metricOf: (key: string) => OutcomeMetricView | undefined,
  now: Date,
): OutcomeEvent {
  const at = (field: string) => (path ? `${path}.${field}` : field);
  const refuse = (field: string, message: string, code = 'invalid_value') =>
    new OutcomeEventRefused('invalid', code, `${at(field)} ${message}`, at(field));
  if (!isObject(raw))
    throw new OutcomeEventRefused('invalid', 'invalid_type', `${path || 'the event'} must be an object`, path || null);
  const openFeature = 'trackingEventName' in raw;
  const fields = openFeature ? OPENFEATURE_FIELDS : SWITCHYARD_FIELDS;
  const unknown = Object.keys(raw).find((field) => !fields.includes(field));
  if (unknown !== undefined)
    throw refuse(
      clip(unknown),
      `is not a field of an outcome event (${fields.join(', ')}); remove it`,
      'unknown_field',
    );
  const metricField = openFeature ? 'trackingEventName' : 'metric';
  const metricKey = raw[metricField];
  if (typeof metricKey !== 'string' || metricKey === '')
    throw refuse(metricField, 'must name an outcome metric (GET /api/outcome-metrics)', 'missing_metric');
  const metric = metricOf(metricKey);
  if (!metric)
    throw refuse(
      metricField,
      `"${clip(metricKey)}" is not an outcome metric (define it with POST /api/outcome-metrics)`,
      'unknown_metric',
    );
  if (metric.builtIn)
    throw refuse(
      metricField,
      `"${metricKey}" is a built-in signal the gateway computes itself; it cannot be reported`,
      'built_in_metric',
    );
  if (metric.archived)
    throw refuse(metricField, `"${metricKey}" is archived and takes no more events`, 'archived_metric');

  const context = openFeature ? raw.context : undefined;
  const details = openFeature ? raw.details : undefined;
  if (openFeature && !isObject(context)) throw refuse('context', 'must be the evaluation context, with targetingKey');
  if (openFeature && details !== undefined && !isObject(details)) throw refuse('details', 'must be an object');
  const valueField = openFeature ? 'details.value' : 'value';
  const rawValue = openFeature ? (details as Record<string, unknown> | undefined)?.value : raw.value;
  if (
    metric.type === 'numeric' &&
    typeof rawValue === 'number' &&
    !(Math.abs(rawValue) <= MAX_NUMERIC_VALUE) // JSON's 1e400 parses as Infinity
  )
    throw refuse(
      valueField,
      `${rawValue} is out of range for numeric metric ${metric.key}: it must lie between -1e12 and 1e12`,
      'value_out_of_range',
    );
  const value = valueOf(rawValue, metric, openFeature);
  if (value === undefined)
    throw refuse(
      valueField,
      metric.type === 'binary'
        ? `must be true or false (or 1 or 0) for binary metric ${metric.key}, got ${show(rawValue)}`
        : `must be a finite number for numeric metric ${metric.key}, got ${show(rawValue)}`,
      'invalid_value',
    );

  let requestId: string | null = null;
  let userId: string | null = null;
  // An event names one thing it attaches to: the other would be dropped without a word.
  if (!openFeature && metric.unit === 'request' && raw.userId !== undefined)
    throw refuse(
      'userId',
      `must be left out: ${metric.key} attaches to a request (send requestId only)`,
      'unexpected_user_id',
    );
  if (!openFeature && metric.unit === 'user' && raw.requestId !== undefined)
    throw refuse(
      'requestId',
      `must be left out: ${metric.key} attaches to users (send userId only)`,
      'unexpected_request_id',
    );
  if (metric.unit === 'request') {
    requestId = textOf(raw.requestId, at('requestId'), MAX_ID_LENGTH);
    if (requestId === null)
      throw refuse(
        'requestId',
        `is required: ${metric.key} attaches to a request (its x-switchyard-request-id)`,
        'missing_request_id',
      );
  } else {
    const userField = openFeature ? 'context.targetingKey' : 'userId';
    userId = textOf(
      openFeature ? (context as Record<string, unknown>).targetingKey : raw.userId,
      at(userField),
      MAX_USER_ID_LENGTH,
    );
    if (userId === null)
      throw refuse(
        userField,
        `is required: ${metric.key} attaches to the user's exposures (the id the flag was evaluated for)`,
        'missing_user_id',
      );
  }

  const occurredField = openFeature ? 'timestamp' : 'occurredAt';
  const rawOccurred = raw[occurredField];
  let occurredAt = now;
  if (rawOccurred !== undefined && rawOccurred !== null) {
    const parsed =
      typeof rawOccurred === 'string'
        ? new Date(rawOccurred)
        : typeof rawOccurred === 'number'
          ? new Date(rawOccurred)
          : null;
    if (!parsed || Number.isNaN(parsed.getTime()))
      throw refuse(occurredField, `must be an ISO 8601 time such as 2026-12-01T09:30:00Z, got ${show(rawOccurred)}`);
    if (parsed.getTime() < EARLIEST_OCCURRED_AT_MS)
      throw refuse(
        occurredField,
        `${parsed.toISOString()} is before 1970-01-01T00:00:00Z: send the time the outcome happened (ISO 8601, or milliseconds since the epoch)`,
      );
    if (parsed.getTime() > now.getTime() + FUTURE_SKEW_MS)
      throw refuse(
        occurredField,
        `${parsed.toISOString()} is in the future (now ${now.toISOString()})`,
        'occurred_in_future',
      );
    occurredAt = parsed.getTime() > now.getTime() ? now : parsed;
  }
  const idempotencyKey = textOf(raw.idempotencyKey, at('idempotencyKey'), MAX_ID_LENGTH);
  return {
    id: idempotencyKey === null ? randomUUID() : uuidOf(`${metric.key}\u0000${idempotencyKey}`),
    idempotencyKey,
    metricKey: metric.key,
    value,
    requestId,
    userId,
    occurredAt,
    source: openFeature ? 'openfeature' : 'api',
    windowSeconds: metric.attributionWindowSeconds ?? 0,
  };
}

function valueOf(value: unknown, metric: OutcomeMetricView, openFeature: boolean): number | undefined {
  if (metric.type === 'binary') {
    // An OpenFeature track() call without a value says the event happened.
    if (openFeature && value === undefined) return 1;
    if (value === true || value === 1) return 1;
    if (value === false || value === 0) return 0;
    return undefined;
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function textOf(value: unknown, path: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value === '' || value.length > max || value.includes('\u0000'))
    throw new OutcomeEventRefused(
      'invalid',
      'invalid_value',
      `${path} must be a non-empty string of at most ${max} characters without NUL`,
      path,
    );
  return value;
}

/** A UUID (version 5 layout) from a name: the same metric and idempotency key give the same event id. */
export function uuidOf(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  return clip(JSON.stringify(value) ?? String(value));
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
