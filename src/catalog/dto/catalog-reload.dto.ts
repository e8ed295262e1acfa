import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { Optional } from '../../common/validation';

const BEFORE_MESSAGE = 'before must be a reload id (a positive integer: the nextBefore of the previous page)';

export class CatalogChangeDto {
  @ApiProperty({ enum: ['providers', 'models', 'policies', 'simulator'], example: 'policies' })
  section: string;

  @ApiProperty({ example: 'search', description: 'The entry: a provider or model id, a policy name' })
  id: string;

  @ApiProperty({ enum: ['added', 'removed', 'changed'], example: 'changed' })
  change: string;

  @ApiPropertyOptional({ type: [String], example: ['budgets'], description: 'For `changed`: the fields that differ' })
  fields?: string[];
}

export class ReplicaReloadDto {
  @ApiProperty({ example: 'gateway-2:4127:9f3a1c' })
  instance: string;

  @ApiProperty({ example: '2026-11-24T17:05:00.120Z' })
  at: string;

  @ApiProperty({ enum: ['applied', 'unchanged', 'refused'], example: 'applied' })
  outcome: string;

  @ApiProperty({ example: '4c7a…', nullable: true, type: String, description: 'The catalog this replica read' })
  sha256: string | null;

  @ApiProperty({ type: [String], example: [] })
  problems: string[];
}

/** One reload: who, when, where, what it changed (or why it was refused), and how every other replica took it. */
export class CatalogReloadDto {
  @ApiProperty({ example: 7 })
  id: number;

  @ApiProperty({ example: '2026-11-24T17:05:00.000Z' })
  at: string;

  @ApiProperty({
    example: 'key:0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b (platform)',
    description: 'The API key, or signal:SIGHUP',
  })
  actor: string;

  @ApiProperty({ enum: ['api', 'signal'], example: 'api' })
  trigger: string;

  @ApiProperty({ example: 'gateway-1:4120:0c2b7e', description: 'The replica that read the catalog first' })
  instance: string;

  @ApiProperty({ example: '/etc/switchyard/catalog.json' })
  source: string;

  @ApiProperty({
    enum: ['applied', 'unchanged', 'refused'],
    example: 'applied',
    description: 'refused: the catalog in force stays (problems says why)',
  })
  outcome: string;

  @ApiProperty({
    example: '9d1e0c4b5a…',
    nullable: true,
    type: String,
    description: 'SHA-256 of the catalog read (never of its keys); null when it could not be read',
  })
  sha256: string | null;

  @ApiProperty({ type: [CatalogChangeDto], description: 'Against the catalog that was in force' })
  changes: CatalogChangeDto[];

  @ApiProperty({ type: [String], example: [] })
  problems: string[];

  @ApiProperty({ type: [ReplicaReloadDto], description: 'Each other replica, as it followed this reload' })
  replicas: ReplicaReloadDto[];
}

export class CatalogReloadPageDto {
  @ApiProperty({ type: [CatalogReloadDto], description: 'Newest first' })
  items: CatalogReloadDto[];

  @ApiProperty({ example: 3, nullable: true, type: Number, description: 'Pass as `before` for the next page' })
  nextBefore: number | null;
}

/** The catalog this replica serves now. */
export class CatalogStateDto {
  @ApiProperty({ example: '/etc/switchyard/catalog.json' })
  source: string;

  @ApiProperty({
    example: '9d1e0c4b5a…',
    description: 'SHA-256 of the catalog: equal on replicas that serve the same one',
  })
  sha256: string;

  @ApiProperty({ example: '2026-11-24T17:05:00.000Z', description: 'When it was put in force here' })
  loadedAt: string;

  @ApiProperty({ example: 'gateway-1:4120:0c2b7e' })
  instance: string;

  @ApiProperty({ type: [String], example: ['simulated'] })
  providers: string[];

  @ApiProperty({ type: [String], example: ['deepseek-v3.2', 'gemini-2.5-flash', 'claude-sonnet-4.5', 'gpt-4.1'] })
  models: string[];

  @ApiProperty({ type: [String], example: ['recommendations', 'chat', 'fraud'] })
  policies: string[];
}

export class CatalogReloadsQueryDto {
  @ApiPropertyOptional({ type: 'integer', example: 20, default: 20, minimum: 1, maximum: 200 })
  @Optional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer between 1 and 200' })
  @Min(1, { message: 'limit must be an integer between 1 and 200' })
  @Max(200, { message: 'limit must be an integer between 1 and 200' })
  limit?: number;

  @ApiPropertyOptional({ type: 'integer', example: 12, minimum: 1, description: 'Reloads older than this id' })
  @Optional()
  @Type(() => Number)
  @IsInt({ message: BEFORE_MESSAGE })
  @Min(1, { message: BEFORE_MESSAGE })
  @Max(Number.MAX_SAFE_INTEGER, { message: BEFORE_MESSAGE })
  before?: number;
}
