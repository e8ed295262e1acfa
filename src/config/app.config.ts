import { registerAs } from '@nestjs/config';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { IntegerBetween, readEnv, Size, sizeInBytes, validateConfig } from './validate-config';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** How long an operator request may wait for the database before its 503 (also the docs' example). */
export const DEFAULT_OPERATOR_TIMEOUT_MS = 30_000;

class AppEnvironment {
  @IntegerBetween('PORT', 0, 65535)
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of: ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel = 'info';

  @Size('REQUEST_BODY_LIMIT', '512kb or 4mb')
  REQUEST_BODY_LIMIT = '4mb';

  @IntegerBetween('REQUEST_BODY_TIMEOUT_MS', 1000, 600000)
  REQUEST_BODY_TIMEOUT_MS = 30000;

  @IntegerBetween('SHUTDOWN_TIMEOUT_MS', 1000, 600000)
  SHUTDOWN_TIMEOUT_MS = 15000;

  @IntegerBetween('OPERATOR_TIMEOUT_MS', 1000, 600000)
  OPERATOR_TIMEOUT_MS = DEFAULT_OPERATOR_TIMEOUT_MS;

  @Matches(/^(auto|[1-9][0-9]?)$/i, {
    message: 'WORKERS must be auto (one gateway process per core) or a number of processes from 1 to 99',
  })
  WORKERS = '1';

  /** The control room's built files (index.html, assets/); default: dist/ui beside the built app. */
  @IsOptional()
  @IsString()
  UI_DIR?: string;
}

export interface AppConfig {
  port: number;
  host: string;
  logLevel: LogLevel;
  requestBodyLimit: string;
  requestBodyLimitBytes: number;
  /** How long a request's body may take to arrive, from its headers (REQUEST_BODY_TIMEOUT_MS). */
  requestBodyTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** The longest an operator request (/api, /v1/outcomes) waits before it answers 503 (OperatorTimeoutInterceptor). */
  operatorTimeoutMs: number;
  /** Gateway processes serving the one port (WORKERS); 1: this process alone, no cluster. */
  workers: number;
  /** Where the control room's built files are (UI_DIR; default dist/ui, which `npm run build` writes). */
  uiDir: string;
}

export const appConfig = registerAs('app', (): AppConfig => {
  const env = validateConfig(
    AppEnvironment,
    readEnv([
      'PORT',
      'HOST',
      'LOG_LEVEL',
      'REQUEST_BODY_LIMIT',
      'REQUEST_BODY_TIMEOUT_MS',
      'SHUTDOWN_TIMEOUT_MS',
      'OPERATOR_TIMEOUT_MS',
      'WORKERS',
      'UI_DIR',
    ]),
    'environment',
  );
  return {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    requestBodyLimit: env.REQUEST_BODY_LIMIT.toLowerCase(),
    requestBodyLimitBytes: sizeInBytes(env.REQUEST_BODY_LIMIT),
    requestBodyTimeoutMs: env.REQUEST_BODY_TIMEOUT_MS,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    operatorTimeoutMs: env.OPERATOR_TIMEOUT_MS,
    workers: env.WORKERS.toLowerCase() === 'auto' ? availableParallelism() : Number(env.WORKERS),
    uiDir: env.UI_DIR ?? defaultUiDir(),
  };
});

/**
 * dist/ui: beside the built app (this file is dist/src/config/app.config.js); tests, which run the
 * TypeScript sources as ES modules without __dirname, look in the working directory's dist/ui.
 */
function defaultUiDir(): string {
  return typeof __dirname === 'string' ? join(__dirname, '..', '..', 'ui') : join(process.cwd(), 'dist', 'ui');
}
