import { registerAs } from '@nestjs/config';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { readEnv, validateConfig } from './validate-config';

class DatabaseEnvironment {
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, {
    message: 'DATABASE_URL must be a postgres:// connection URL, e.g. postgres://user:pass@host:5432/db',
  })
  DATABASE_URL?: string;

  @IsString()
  SWITCHYARD_DATA_DIR = './.data';

  @Type(() => Number)
  @IsInt({ message: 'SWITCHYARD_EMBEDDED_PG_PORT must be an integer between 1 and 65535' })
  @Min(1, { message: 'SWITCHYARD_EMBEDDED_PG_PORT must be an integer between 1 and 65535' })
  @Max(65535, { message: 'SWITCHYARD_EMBEDDED_PG_PORT must be an integer between 1 and 65535' })
  SWITCHYARD_EMBEDDED_PG_PORT = 54329;

  @Type(() => Number)
  @IsInt({ message: 'DATABASE_POOL_SIZE must be an integer between 1 and 100' })
  @Min(1, { message: 'DATABASE_POOL_SIZE must be an integer between 1 and 100' })
  @Max(100, { message: 'DATABASE_POOL_SIZE must be an integer between 1 and 100' })
  DATABASE_POOL_SIZE = 10;
}

export interface DatabaseConfig {
  /** Unset: Switchyard starts its own embedded Postgres under `dataDir`. */
  url?: string;
  dataDir: string;
  embeddedPort: number;
  poolSize: number;
}

export const databaseConfig = registerAs('database', (): DatabaseConfig => {
  const env = validateConfig(
    DatabaseEnvironment,
    readEnv(['DATABASE_URL', 'SWITCHYARD_DATA_DIR', 'SWITCHYARD_EMBEDDED_PG_PORT', 'DATABASE_POOL_SIZE']),
    'environment',
  );
  return {
    url: env.DATABASE_URL,
    dataDir: env.SWITCHYARD_DATA_DIR,
    embeddedPort: env.SWITCHYARD_EMBEDDED_PG_PORT,
    poolSize: env.DATABASE_POOL_SIZE,
  };
});
