import { registerAs } from '@nestjs/config';
import { IsIn, IsOptional, Matches, MinLength } from 'class-validator';
import { IntegerBetween, readEnv, validateConfig } from './validate-config';

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
  /** How often each replica adds its request and token counts to the shared per-key windows. */
  usageSyncMs: number;
}

export const ACCESS_ENV = ['SWITCHYARD_ADMIN_KEY', 'DOCS_PUBLIC', 'PROMETHEUS_PUBLIC', 'RATE_LIMIT_SYNC_MS'];

export const accessConfig = registerAs('access', (): AccessConfig => {
  const env = validateConfig(AccessEnvironment, readEnv(ACCESS_ENV), 'environment');
  return {
    adminKey: env.SWITCHYARD_ADMIN_KEY,
    docsPublic: env.DOCS_PUBLIC === 'true',
    prometheusPublic: env.PROMETHEUS_PUBLIC === 'true',
    usageSyncMs: env.RATE_LIMIT_SYNC_MS,
  };
});
