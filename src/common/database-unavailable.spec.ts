import { QueryFailedError } from 'typeorm';
import { DatabaseUnavailable, databaseUnavailableFrom } from './database-unavailable';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('databaseUnavailableFrom', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    [
      'a refused connection on every address (AggregateError)',
      Object.assign(new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')]), {
        code: 'ECONNREFUSED',
      }),
    ],
    ['a server shut down under the query', withCode('terminating connection due to administrator command', '57P01')],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['a pool that found no connection in time', new Error('timeout exceeded when trying to connect')],
    ['too many connections', withCode('sorry, too many clients already', '53300')],
    [
      'a statement past DATABASE_STATEMENT_TIMEOUT_MS',
      withCode('canceling statement due to statement timeout', '57014'),
    ],
    ['a statement left unanswered (a partition)', new Error('Query read timeout')],
    [
      'a TypeORM query error over a dropped connection',
      new QueryFailedError('SELECT 1', [], withCode('terminating connection due to administrator command', '57P01')),
    ],
    ['a cause chain', new Error('flag reload failed', { cause: withCode('connect ECONNRESET', 'ECONNRESET') })],
  ])('recognises %s', (_what, error) => {
    const unavailable = databaseUnavailableFrom(error);
    expect(unavailable).toBeInstanceOf(DatabaseUnavailable);
    expect(unavailable).toMatchObject({ kind: 'unavailable', code: 'database_unavailable', retryAfterSeconds: 5 });
    expect(unavailable?.message).toMatch(/database is unavailable right now.*retry in 5 s/);
  });

  it.each([
    ['a query Postgres refused on its merits', new QueryFailedError('SELECT', [], withCode('duplicate key', '23505'))],
    ['a NUL byte', withCode('invalid byte sequence for encoding "UTF8": 0x00', '22021')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a non-error', 'boom'],
    ['a cause cycle', Object.assign(new Error('a'), { cause: undefined as unknown })],
  ])('leaves %s alone', (_what, error) => {
    if (error instanceof Error && error.message === 'a') (error as { cause: unknown }).cause = error;
    expect(databaseUnavailableFrom(error)).toBeUndefined();
  });
});
