import { registerAs } from '@nestjs/config';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { readEnv, validateConfig } from './validate-config';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

class AppEnvironment {
  @Type(() => Number)
  @IsInt({ message: 'PORT must be an integer between 0 and 65535' })
  @Min(0, { message: 'PORT must be an integer between 0 and 65535' })
  @Max(65535, { message: 'PORT must be an integer between 0 and 65535' })
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of: ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel = 'info';

  @Matches(/^\d+(b|kb|mb)$/i, { message: 'REQUEST_BODY_LIMIT must be a size such as 512kb or 4mb' })
  REQUEST_BODY_LIMIT = '4mb';

  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'SHUTDOWN_TIMEOUT_MS must be an integer number of milliseconds (1000-600000)' })
  @Min(1000, { message: 'SHUTDOWN_TIMEOUT_MS must be an integer number of milliseconds (1000-600000)' })
  @Max(600000, { message: 'SHUTDOWN_TIMEOUT_MS must be an integer number of milliseconds (1000-600000)' })
  SHUTDOWN_TIMEOUT_MS = 15000;
}

export interface AppConfig {
  port: number;
  host: string;
  logLevel: LogLevel;
  requestBodyLimit: string;
  shutdownTimeoutMs: number;
}

export const appConfig = registerAs('app', (): AppConfig => {
  const env = validateConfig(
    AppEnvironment,
    readEnv(['PORT', 'HOST', 'LOG_LEVEL', 'REQUEST_BODY_LIMIT', 'SHUTDOWN_TIMEOUT_MS']),
    'environment',
  );
  return {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    requestBodyLimit: env.REQUEST_BODY_LIMIT.toLowerCase(),
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
  };
});
