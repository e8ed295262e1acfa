import { registerAs } from '@nestjs/config';
import { IsIn, IsOptional, Matches, MinLength } from 'class-validator';
import { ConfigurationError, IntegerBetween, readEnv, validateConfig } from './validate-config';

const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;

class AccessEnvironment {
  // The messages never quote the value: it is a secret.
  @IsOptional()
  @MinLength(32, { message: 'SWITCHYARD_ADMIN_KEY must be at least 32 characters (e.g. openssl rand -base64 48)' })
  @Matches(/^[\x21-\x7e]+$/, { message: 'SWITCHYARD_ADMIN_KEY must be printable ASCII without spaces' })
  SWITCHYARD_ADMIN_KEY?: string;

  @IsIn(['true', 'false'], { message: 'DOCS_PUBLIC must be true or false' })
  DOCS_PUBLIC = 'true';

  @IsIn(['true', 'false'], { message: 'PROMETHEUS_PUBLIC must be true or false' })
  PROMETHEUS_PUBLIC = 'false';

  @IsOptional()
  @Matches(/^\s*(\*|[^,\s]+(\s*,\s*[^,\s]+)*)\s*$/, {
    message:
      'CORS_ORIGINS must be * or a comma-separated list of origins such as https://dashboard.internal,http://localhost:5173',
  })
  CORS_ORIGINS?: string;

  @IntegerBetween('RATE_LIMIT_SYNC_MS', 10, 10_000)
  RATE_LIMIT_SYNC_MS = 200;
}

export interface AccessConfig {
  /** SWITCHYARD_ADMIN_KEY: accepted as an admin key (only its hash is stored). Never log it. */
  adminKey?: string;
  /** /docs and /docs-json without a key. */
  docsPublic: boolean;
  /** /metrics (Prometheus) without a key. */
  prometheusPublic: boolean;
  /** Empty: CORS off (no Access-Control-* headers). `['*']`: any origin. */
  corsOrigins: string[];
  /** How often each replica adds its request and token counts to the shared per-key windows. */
  usageSyncMs: number;
}

export const ACCESS_ENV = [
  'SWITCHYARD_ADMIN_KEY',
  'DOCS_PUBLIC',
  'PROMETHEUS_PUBLIC',
  'CORS_ORIGINS',
  'RATE_LIMIT_SYNC_MS',
];

export const accessConfig = registerAs('access', (): AccessConfig => {
  const env = validateConfig(AccessEnvironment, readEnv(ACCESS_ENV), 'environment');
  const corsOrigins = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim().replace(/\/$/, ''))
    .filter(Boolean);
  const bad = corsOrigins.filter((origin) => origin !== '*' && !ORIGIN.test(origin));
  if (bad.length > 0 || (corsOrigins.includes('*') && corsOrigins.length > 1)) {
    throw new ConfigurationError('environment', [
      `CORS_ORIGINS: ${bad.length > 0 ? `${bad.join(', ')} ${bad.length > 1 ? 'are not origins' : 'is not an origin'}` : '* cannot be combined with origins'}; ` +
        'give * or origins such as https://dashboard.internal,http://localhost:5173',
    ]);
  }
  return {
    adminKey: env.SWITCHYARD_ADMIN_KEY,
    docsPublic: env.DOCS_PUBLIC === 'true',
    prometheusPublic: env.PROMETHEUS_PUBLIC === 'true',
    corsOrigins,
    usageSyncMs: env.RATE_LIMIT_SYNC_MS,
  };
});
