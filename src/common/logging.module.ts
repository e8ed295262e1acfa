import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, Module } from '@nestjs/common';
import { pino, type Logger as Pino } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';
import { appConfig, type AppConfig } from '../config/app.config';
import { catalogConfig, type CatalogConfig } from '../config/catalog.config';
import { AppLogger } from './pino-logger';
import { assignRequestId } from './request-id';
import { secretRedactor } from './secret-redaction';

/**
 * Header and body fields that carry secrets. pino removes them from every log line, including the
 * request/response records written for each call.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.apiKey',
  '*.key',
  '*.password',
  'headers.authorization',
  'config.headers.authorization',
  'err.config.headers.authorization',
  '*.headers.authorization',
  'req.headers["proxy-authorization"]',
  // Provider keys (ProviderKeys.primary/backup) and API key material, should an object carrying them be logged.
  '*.primary',
  '*.backup',
  '*.adminKey',
  '*.keyHash',
];

/**
 * Every provider key value, as it is and as JSON writes it: removed from every log line wherever it
 * appears, whatever field carries it (an upstream's error message may quote the key it was sent).
 */
export function providerKeyValues(catalog: CatalogConfig): string[] {
  return Object.values(catalog.keys).flatMap(({ primary, backup }) =>
    [primary, backup].flatMap((key) => (key ? [key, JSON.stringify(key).slice(1, -1)] : [])),
  );
}

/** The root pino logger of a process: JSON lines on stdout, at LOG_LEVEL, with `redact` removing secrets. */
export function rootLogger(app: AppConfig, redact: (text: string) => string): Pino {
  return pino({
    level: app.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    hooks: { streamWrite: redact },
  });
}

/**
 * The secret values removed from every log line. Starts with the start-up catalog's provider keys;
 * a catalog reload adds the keys of the providers it brings (none is ever removed: a late log line
 * may still quote a key the reload dropped).
 */
@Injectable()
export class LoggedSecrets {
  private readonly values = new Set<string>();
  private redactor: (text: string) => string = (text) => text;

  add(values: Iterable<string>): void {
    const before = this.values.size;
    for (const value of values) this.values.add(value);
    if (this.values.size !== before) this.redactor = secretRedactor(this.values);
  }

  readonly redact = (text: string): string => this.redactor(text);
}

/**
 * Provides AppLogger: one root pino logger per app, JSON lines on stdout. Bootstrap installs it as
 * Nest's logger and mounts `requestLogger(root)` on Express. No async local storage (see AppLogger).
 */
@Module({
  providers: [
    LoggedSecrets,
    {
      provide: AppLogger,
      inject: [appConfig.KEY, catalogConfig.KEY, LoggedSecrets],
      useFactory: (app: AppConfig, catalog: CatalogConfig, secrets: LoggedSecrets) => {
        secrets.add(providerKeyValues(catalog));
        return new AppLogger(rootLogger(app, secrets.redact));
      },
    },
  ],
  exports: [AppLogger, LoggedSecrets],
})
export class LoggingModule {}

/** Health probes arrive every few seconds; logging each one drowns the useful lines. */
const isHealthProbe = (req: IncomingMessage) => (req.url ?? '').startsWith('/health');

/**
 * Express middleware: gives each request its id (`req.id`, echoed in x-switchyard-request-id) and
 * writes one line to `root` when its response is done. The completions fast path never reaches it:
 * it sets its own id and logs only what goes wrong.
 */
export function requestLogger(root: Pino): HttpLogger {
  return pinoHttp({
    logger: root,
    genReqId: assignRequestId,
    autoLogging: { ignore: isHealthProbe },
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
      err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    // For a 5xx without an error pino-http makes one up ("failed with status code 503"), whose stack
    // is pino-http's own: it says nothing the status does not, and reads like a crash. Left out;
    // the exception filter logs the real cause.
    customErrorObject: (_req: IncomingMessage, res: ServerResponse, error: Error, value: Record<string, unknown>) =>
      error.message === `failed with status code ${res.statusCode}` ? { ...value, err: undefined } : value,
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      // The status is what a request line is read for; the dozen security headers on every answer are noise.
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
}
