import { envelopeOf, MAX_BATCH, parseOutcomeEvent, uuidOf } from './outcome-event';
import type { OutcomeMetricView } from './outcome.types';

const base = {
  description: '',
  builtIn: false,
  version: 1,
  archived: false,
  archivedAt: null,
  createdAt: null,
  updatedAt: null,
};
const METRICS: Record<string, OutcomeMetricView> = {
  thumbs_up: {
    ...base,
    key: 'thumbs_up',
    type: 'binary',
    direction: 'higher_is_better',
    unit: 'request',
    attributionWindowSeconds: 3600,
  },
  rating: {
    ...base,
    key: 'rating',
    type: 'numeric',
    direction: 'higher_is_better',
    unit: 'request',
    attributionWindowSeconds: 3600,
  },
  converted: {
    ...base,
    key: 'converted',
    type: 'binary',
    direction: 'higher_is_better',
    unit: 'user',
    attributionWindowSeconds: 86400,
  },
  old: {
    ...base,
    key: 'old',
    type: 'binary',
    direction: 'higher_is_better',
    unit: 'user',
    attributionWindowSeconds: 60,
    archived: true,
  },
};
const NOW = new Date('2026-12-01T10:00:00Z');
const parse = (raw: unknown, path = '') => parseOutcomeEvent(raw, path, (key) => METRICS[key], NOW);
const messageOf = (raw: unknown, path = '') => {
  try {
    parse(raw, path);
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
};

describe('outcome events', () => {
  it('reads binary values as 1/0, numeric as numbers, and the subject the unit asks for', () => {
    expect(parse({ metric: 'thumbs_up', value: true, requestId: 'r1' })).toMatchObject({
      value: 1,
      requestId: 'r1',
      userId: null,
      occurredAt: NOW,
      source: 'api',
    });
    expect(parse({ metric: 'thumbs_up', value: 0, requestId: 'r1' }).value).toBe(0);
    expect(parse({ metric: 'rating', value: 4.5, requestId: 'r1' }).value).toBe(4.5);
    expect(parse({ metric: 'converted', value: false, userId: 'u1' })).toMatchObject({
      value: 0,
      userId: 'u1',
      requestId: null,
    });
  });

  it('names what is wrong, by path', () => {
    expect(messageOf({ metric: 'nope', value: 1 }, 'events[3]')).toMatch(
      /^events\[3\]\.metric "nope" is not an outcome metric/,
    );
    expect(messageOf({ metric: 'old', value: 1, userId: 'u' })).toBe(
      'metric "old" is archived and takes no more events',
    );
    expect(messageOf({ metric: 'thumbs_up', value: 2, requestId: 'r' })).toMatch(
      /^value must be true or false \(or 1 or 0\)/,
    );
    expect(messageOf({ metric: 'rating', value: true, requestId: 'r' })).toMatch(/^value must be a finite number/);
    expect(messageOf({ metric: 'thumbs_up', value: 1 })).toMatch(/^requestId is required/);
    expect(messageOf({ metric: 'converted', value: 1 })).toMatch(/^userId is required/);
    expect(messageOf({ metric: 'converted', value: 1, userId: 'a\u0000b' })).toMatch(
      /^userId must be a non-empty string/,
    );
    expect(messageOf({ metric: 'converted', value: 1, userId: 'u', occurredAt: 'yesterday' })).toMatch(
      /^occurredAt must be an ISO 8601 time/,
    );
    expect(messageOf({ metric: 'converted', value: 1, userId: 'u', occurredAt: '2026-12-01T10:05:00Z' })).toMatch(
      /is in the future/,
    );
    expect(messageOf({ metric: 'converted', value: 1, userId: 'u', occurredAt: '-100000-01-01T00:00:00Z' })).toBe(
      'occurredAt -100000-01-01T00:00:00.000Z is before 1970-01-01T00:00:00Z: send the time the outcome happened (ISO 8601, or milliseconds since the epoch)',
    );
    expect(messageOf({ metric: 'converted', value: 1, userId: 'u', occurredAt: -1 })).toMatch(/is before 1970/);
    // A little clock skew is taken as now.
    expect(
      parse({ metric: 'converted', value: 1, userId: 'u', occurredAt: '2026-12-01T10:00:30Z' }).occurredAt,
    ).toEqual(NOW);
  });

  it('refuses a field it does not read, and the subject the metric does not attach to, instead of dropping them', () => {
    expect(
      messageOf({ metric: 'thumbs_up', value: 1, requestId: 'r', ocurredAt: '2026-12-01T09:00:00Z' }, 'events[1]'),
    ).toBe(
      'events[1].ocurredAt is not a field of an outcome event (metric, value, requestId, userId, occurredAt, idempotencyKey); remove it',
    );
    expect(messageOf({ metric: 'thumbs_up', value: 1, requestId: 'r', userId: 'u' })).toMatch(
      /^userId must be left out: thumbs_up attaches to a request/,
    );
    expect(messageOf({ metric: 'converted', value: 1, userId: 'u', requestId: 'r' })).toMatch(
      /^requestId must be left out: converted attaches to users/,
    );
    expect(messageOf({ trackingEventName: 'converted', context: { targetingKey: 'u' }, value: 1 })).toMatch(
      /^value is not a field of an outcome event \(trackingEventName, context, details/,
    );
    expect(() => envelopeOf({ events: [{}], bogus: 1 })).toThrow(
      'bogus is not a field of a batch ({ "events": [...] }); remove it',
    );
  });

  it('reads the OpenFeature tracking shape; a binary event without a value happened', () => {
    expect(parse({ trackingEventName: 'converted', context: { targetingKey: 'u9' } })).toMatchObject({
      metricKey: 'converted',
      value: 1,
      userId: 'u9',
      source: 'openfeature',
    });
    expect(messageOf({ trackingEventName: 'converted', context: {} })).toMatch(/^context\.targetingKey is required/);
  });

  it('derives the id from metric and idempotency key, so a duplicate is the same row', () => {
    const a = parse({ metric: 'converted', value: 1, userId: 'u', idempotencyKey: 'order-1' });
    const b = parse({ metric: 'converted', value: 1, userId: 'u', idempotencyKey: 'order-1' });
    expect(a.id).toBe(b.id);
    expect(a.id).toBe(uuidOf('converted\u0000order-1'));
    // Kept with the event: a conflict under it is logged by the key, which the id cannot give back.
    expect(a.idempotencyKey).toBe('order-1');
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parse({ metric: 'converted', value: 1, userId: 'u' }).id).not.toBe(
      parse({ metric: 'converted', value: 1, userId: 'u' }).id,
    );
  });

  it('takes one event or a batch of 1 to 1000', () => {
    expect(envelopeOf({ metric: 'x' })).toEqual({ batch: false, items: [{ metric: 'x' }] });
    expect(envelopeOf({ events: [1, 2] })).toEqual({ batch: true, items: [1, 2] });
    expect(() => envelopeOf({ events: new Array(MAX_BATCH + 1).fill({}) })).toThrow(
      /1 to 1000 outcome events, got 1001 events/,
    );
    expect(() => envelopeOf([1])).toThrow(/The body must be an outcome event/);
  });
});
