import { conflictLine, conflictsAmong, skippedIds, type StoredOutcome } from './outcome-writer';

const A = '00000000-0000-5000-8000-00000000000a';
const B = '00000000-0000-5000-8000-00000000000b';
const USER = '-4217309842160537521';
const OTHER_USER = '871203344196302116';
const REQUEST = '5b0c6b1e-6d5f-4a83-9d1f-2f7f7f1f3c11';

/** A row as the writer sends it: the columns' values, then the idempotency key. */
function row(id: string, value: number, subject: { userKey?: string; requestId?: string }, key: string | null) {
  const occurredAt = Date.parse('2026-12-01T10:00:00Z');
  return [
    id,
    'checkout_converted',
    value,
    subject.requestId ?? null,
    subject.userKey ?? null,
    occurredAt,
    occurredAt,
    'api-key-id',
    'api',
    key,
  ];
}
const stored = (id: string, value: number, subject: { userKey?: string; requestId?: string }): StoredOutcome => ({
  id,
  value,
  request_id: subject.requestId ?? null,
  user_key: subject.userKey ?? null,
});

describe('skippedIds', () => {
  it('names the ids the INSERT did not return, and those it stored once for several rows', () => {
    const rows = [
      row(A, 1, { userKey: USER }, 'a'),
      row(A, 0, { userKey: USER }, 'a'),
      row(B, 1, { userKey: USER }, 'b'),
    ];
    expect(skippedIds(rows, [A, B])).toEqual([A]);
    expect(skippedIds(rows, [A])).toEqual([A, B]);
    expect(skippedIds(rows, [])).toEqual([A, B]);
    expect(skippedIds([row(B, 1, { userKey: USER }, 'b')], [B])).toEqual([]);
  });
});

describe('conflictsAmong', () => {
  it('takes a row with the stored content for a retry, whatever its occurredAt', () => {
    const retry = row(A, 1, { userKey: USER }, 'order-1');
    retry[5] = (retry[5] as number) + 60_000;
    expect(conflictsAmong([retry], [stored(A, 1, { userKey: USER })])).toEqual([]);
  });

  it('finds each row whose value, user or request differs from the stored one', () => {
    const rows = [
      row(A, 1, { userKey: USER }, 'order-1'),
      row(A, 0, { userKey: USER }, 'order-1'),
      row(A, 1, { userKey: OTHER_USER }, 'order-1'),
      row(B, 4.5, { requestId: 'another-request' }, 'rating-1'),
    ];
    const found = conflictsAmong(rows, [stored(A, 1, { userKey: USER }), stored(B, 4.5, { requestId: REQUEST })]);
    expect(found.map(({ id, value, otherSubject }) => ({ id, value, otherSubject }))).toEqual([
      { id: A, value: 0, otherSubject: false },
      { id: A, value: 1, otherSubject: true },
      { id: B, value: 4.5, otherSubject: true },
    ]);
  });

  it('leaves out rows whose id is no longer stored', () => {
    expect(conflictsAmong([row(A, 0, { userKey: USER }, 'order-1')], [])).toEqual([]);
  });
});

describe('conflictLine', () => {
  it('names the metric, the idempotency key and what differs, never the user or the API key', () => {
    const rows = [
      row(A, 0, { userKey: USER }, 'order-"1"'),
      row(A, 1, { userKey: OTHER_USER }, 'order-"1"'),
      // Spooled by an older version: no key in the row, so the id stands for it.
      row(B, 1, { userKey: OTHER_USER }, null).slice(0, 9),
    ];
    const line = conflictLine(conflictsAmong(rows, [stored(A, 1, { userKey: USER }), stored(B, 1, { userKey: USER })]));
    expect(line).toBe(
      '3 outcome events not stored: their idempotency key was already stored with other content, which is kept ' +
        '(counted as dropped, reason idempotency_conflict): checkout_converted idempotencyKey "order-\\"1\\"" (value 0, stored 1); ' +
        `checkout_converted idempotencyKey "order-\\"1\\"" (another user); checkout_converted id ${B} (another user)`,
    );
    expect(line).not.toContain(USER);
    expect(line).not.toContain('api-key-id');
  });

  it('names ten and counts the rest', () => {
    const rows = Array.from({ length: 12 }, (_, i) => row(A, i + 2, { userKey: USER }, 'order-1'));
    const line = conflictLine(conflictsAmong(rows, [stored(A, 1, { userKey: USER })]));
    expect(line).toMatch(/^12 outcome events not stored/);
    expect(line.match(/checkout_converted/g)).toHaveLength(10);
    expect(line).toMatch(/; 2 more$/);
  });
});
