import { registerAs } from '@nestjs/config';
import { IsOptional, IsString, Matches, ValidateBy } from 'class-validator';
import { IntegerBetween, readEnv, validateConfig } from './validate-config';

/**
 * Whether pg and TypeORM can read `url`: a port past 65535, or a user name or password with a bare
 * `%` or `/`, would otherwise fail deep in start-up with a stack trace.
 */
function parsesAsUrl(url: unknown): boolean {
  if (typeof url !== 'string' || !URL.canParse(url)) return false;
  const { username, password } = new URL(url);
  try {
    decodeURIComponent(username);
    decodeURIComponent(password);
    return true;
  } catch {
    return false;
  }
}

class DatabaseEnvironment {
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, {
    message: 'DATABASE_URL must be a postgres:// connection URL, e.g. postgres://user:pass@host:5432/db',
  })
  // Its message never quotes the URL: it holds the password.
  @ValidateBy({
    name: 'parsesAsUrl',
    validator: {
      validate: parsesAsUrl,
      defaultMessage: () =>
        'DATABASE_URL does not parse as a URL: check its host and port (1-65535), and percent-encode special characters ' +
        'in the user name and password (@ as %40, / as %2F, % as %25)',
    },
  })
  DATABASE_URL?: string;

  @IsString()
  SWITCHYARD_DATA_DIR = './.data';

  @IntegerBetween('SWITCHYARD_EMBEDDED_PG_PORT', 1, 65535)
  SWITCHYARD_EMBEDDED_PG_PORT = 54329;

  // Each job run under a try-lock (tryWithLock: canary tick, guardrail, budget watch, two retention
  // jobs; up to 5 at once) holds a connection for its lock while it works on another: with fewer
  // than 6, they can all hold one and wait on each other for the pool's 5 s, then fail.
  @IntegerBetween('DATABASE_POOL_SIZE', 6, 100)
  DATABASE_POOL_SIZE = 10;

  @IntegerBetween('DATABASE_STATEMENT_TIMEOUT_MS', 1000, 3600000)
  DATABASE_STATEMENT_TIMEOUT_MS = 60000;
}

export interface DatabaseConfig {
  /** Unset: Switchyard starts its own embedded Postgres under `dataDir`. */
  url?: string;
  dataDir: string;
  embeddedPort: number;
  poolSize: number;
  /** Postgres cancels a statement of ours past it; see `databaseBounds`. */
  statementTimeoutMs: number;
}

export const databaseConfig = registerAs('database', (): DatabaseConfig => {
  const env = validateConfig(
    DatabaseEnvironment,
    readEnv([
      'DATABASE_URL',
      'SWITCHYARD_DATA_DIR',
      'SWITCHYARD_EMBEDDED_PG_PORT',
      'DATABASE_POOL_SIZE',
      'DATABASE_STATEMENT_TIMEOUT_MS',
    ]),
    'environment',
  );
  return {
    url: env.DATABASE_URL,
    dataDir: env.SWITCHYARD_DATA_DIR,
    embeddedPort: env.SWITCHYARD_EMBEDDED_PG_PORT,
    poolSize: env.DATABASE_POOL_SIZE,
    statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
  };
});
