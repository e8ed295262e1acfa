import type { LoggerService } from '@nestjs/common';
import type { Level, Logger as Pino } from 'pino';

/**
 * Nest's own start-up narration: ~100 lines (every module initialised, every route mapped) that
 * would bury the start banner and the lines that matter. Debug, not info; its warnings and errors
 * keep their level.
 */
const FRAMEWORK_NARRATION = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

/**
 * Nest's LoggerService on top of the app's root pino logger (built in LoggingModule). Every
 * `new Logger(...)` of the app writes through it once bootstrap has called `app.useLogger()`.
 *
 * It replaces nestjs-pino, which runs every Express request inside an async local storage
 * (`ALS.run()`) so a log line can find its request's child logger. In Node 20 the first such call
 * turns on the async hooks' promise hooks for the whole process, for good, and every promise on the
 * completions fast path then pays for them (measured: 292 -> 261 us CPU per request without them,
 * +12% throughput). Nothing of ours needs that store: lines about a request carry its `requestId`
 * explicitly. So no async local storage nor async hooks here or in the request logger; keep it that
 * way.
 */
export class AppLogger implements LoggerService {
  constructor(readonly root: Pino) {}

  log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    this.write(FRAMEWORK_NARRATION.has(context as string) ? 'debug' : 'info', message, optionalParams);
  }

  error(message: unknown, ...optionalParams: unknown[]): void {
    this.write('error', message, optionalParams);
  }

  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.write('warn', message, optionalParams);
  }

  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.write('debug', message, optionalParams);
  }

  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.write('trace', message, optionalParams);
  }

  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.write('fatal', message, optionalParams);
  }

  /**
   * Maps Nest's calling convention onto pino's (as nestjs-pino's Logger did). A `new Logger(name)`
   * appends `name` as the last param (after an `undefined` when `error()` got nothing else), so:
   *   log('text', ctx)                      -> { context, msg: 'text' }
   *   warn({ model }, 'circuit opened', ctx) -> { context, model, msg: 'circuit opened' }
   *   error(new Error('x'), ctx)            -> { context, err, msg: 'x' }
   *   error('text', stack, ctx)             -> { context, err: { message: 'text', stack }, msg: 'text' }
   * `err` goes through pino's error serializer; other params fill printf-style placeholders.
   */
  private write(level: Level, message: unknown, optionalParams: unknown[]): void {
    const fields: Record<string, unknown> = {};
    let params = optionalParams;
    if (params.length > 0) {
      fields.context = params[params.length - 1];
      params = params.slice(0, -1);
    }
    // pino's overloads cannot take our unknowns; at run time it accepts (object, message?, ...args).
    const log = this.root[level] as (...args: unknown[]) => void;
    if (typeof message === 'object') {
      if (message instanceof Error) fields.err = message;
      else Object.assign(fields, message);
      log.call(this.root, fields, ...params);
    } else if (level === 'error' && typeof message === 'string' && isStackOnly(params)) {
      // Nest's older `error(message, stack)` contract, still used by some of its packages.
      const err = new Error(message);
      err.stack = params[0] as string;
      log.call(this.root, { ...fields, err });
    } else {
      log.call(this.root, fields, message, ...params);
    }
  }
}

function isStackOnly(params: unknown[]): boolean {
  return params.length === 1 && typeof params[0] === 'string' && /\n\s*at /.test(params[0]);
}
