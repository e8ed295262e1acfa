import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { appConfig, type AppConfig } from '../config/app.config';
import { assignRequestId } from './request-id';

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

@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [appConfig.KEY],
      useFactory: (app: AppConfig) => ({
        pinoHttp: {
          level: app.logLevel,
          redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
          genReqId: assignRequestId,
          // Health probes arrive every few seconds; logging each one drowns the useful lines.
          autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health') },
          customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
          serializers: {
            req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
