import { ConsoleLogger, Logger } from '@nestjs/common';
import { pino } from 'pino';
import { AppLogger } from './pino-logger';

/** An AppLogger at trace level whose lines land in `lines`, parsed. */
function capture(): { logger: AppLogger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
  return { logger: new AppLogger(pino({ level: 'trace', base: undefined, timestamp: false }, stream)), lines };
}

describe('AppLogger', () => {
  // The calls as Nest's `new Logger('Ctx')` forwards them: the context appended last.
  it('maps messages, objects and errors the way our code calls Logger', () => {
    const { logger, lines } = capture();
    logger.log('plain text', 'Ctx');
    logger.warn({ model: 'gpt-4.1' }, 'circuit opened', 'Ctx');
    logger.error({ err: new Error('boom'), requestId: 'r-1' }, 'unhandled error', 'Ctx');
    logger.debug('%d retries left', 2, 'Ctx');
    logger.verbose('fine detail', 'Ctx');
    logger.fatal('gone', 'Ctx');
    logger.log('no context');

    expect(lines[0]).toEqual({ level: 30, context: 'Ctx', msg: 'plain text' });
    expect(lines[1]).toEqual({ level: 40, context: 'Ctx', model: 'gpt-4.1', msg: 'circuit opened' });
    expect(lines[2]).toMatchObject({
      level: 50,
      context: 'Ctx',
      requestId: 'r-1',
      msg: 'unhandled error',
      err: { type: 'Error', message: 'boom' },
    });
    expect((lines[2].err as { stack: string }).stack).toContain('boom');
    expect(lines[3]).toEqual({ level: 20, context: 'Ctx', msg: '2 retries left' });
    expect(lines[4]).toEqual({ level: 10, context: 'Ctx', msg: 'fine detail' });
    expect(lines[5]).toEqual({ level: 60, context: 'Ctx', msg: 'gone' });
    expect(lines[6]).toEqual({ level: 30, msg: 'no context' });
  });

  it("accepts Nest's own error calls: an Error, and (message, stack)", () => {
    const { logger, lines } = capture();
    logger.error(new Error('exploded'), undefined, 'ExceptionsHandler');
    logger.error('Unable to connect', 'Error: refused\n    at connect (db.js:1:1)', 'TypeOrmModule');

    expect(lines[0]).toMatchObject({
      level: 50,
      context: 'ExceptionsHandler',
      msg: 'exploded',
      err: { message: 'exploded' },
    });
    expect(lines[1]).toMatchObject({
      level: 50,
      context: 'TypeOrmModule',
      msg: 'Unable to connect',
      err: { message: 'Unable to connect', stack: 'Error: refused\n    at connect (db.js:1:1)' },
    });
  });

  it('receives what a Nest Logger writes once installed with useLogger', () => {
    const { logger, lines } = capture();
    Logger.overrideLogger(logger);
    try {
      new Logger('FlagsService').log({ flag: 'f', actor: 'a' }, 'flag created');
      new Logger('HttpExceptionFilter').error({ err: new Error('db down'), requestId: 'r-2' }, 'unhandled error');
    } finally {
      Logger.overrideLogger(new ConsoleLogger());
    }
    expect(lines[0]).toEqual({ level: 30, context: 'FlagsService', flag: 'f', actor: 'a', msg: 'flag created' });
    expect(lines[1]).toMatchObject({
      level: 50,
      context: 'HttpExceptionFilter',
      requestId: 'r-2',
      err: { message: 'db down' },
      msg: 'unhandled error',
    });
  });

  it("logs Nest's start-up narration (modules initialised, routes mapped) at debug, so the start banner stays visible", () => {
    const { logger, lines } = capture();
    logger.log('Mapped {/api/flags, GET} route', 'RouterExplorer');
    logger.log('FlagsModule dependencies initialized', 'InstanceLoader');
    logger.log('flag created', 'FlagsService');
    logger.warn('something odd', 'RouterExplorer');

    expect(lines.map((line) => [line.context, line.level])).toEqual([
      ['RouterExplorer', 20],
      ['InstanceLoader', 20],
      ['FlagsService', 30],
      ['RouterExplorer', 40],
    ]);
  });
});
