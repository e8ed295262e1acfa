import { ApiProperty } from '@nestjs/swagger';
import { SCOPES, type Scope } from '../scopes';

/** A key as lists show it: never the key, never its hash. */
export class ApiKeyDto {
  @ApiProperty({ example: '0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b' })
  id: string;

  @ApiProperty({ example: 'search-team' })
  name: string;

  @ApiProperty({
    example: 'sy_k3j5n2m8q1',
    description: 'The first characters of the key, to tell keys apart (env_… for SWITCHYARD_ADMIN_KEY)',
  })
  prefix: string;

  @ApiProperty({ enum: SCOPES, isArray: true, example: ['gateway'] })
  scopes: Scope[];

  @ApiProperty({
    type: [String],
    nullable: true,
    example: ['chat'],
    description: 'null: every policy and concrete models',
  })
  policies: string[] | null;

  @ApiProperty({ type: Number, nullable: true, example: 600 })
  requestsPerMinute: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 200000 })
  tokensPerMinute: number | null;

  @ApiProperty({
    example: 'key:5d0c6b1e-6d5f-4a83-9d1f-2f7f7f1f3c11 (bootstrap-admin)',
    description: 'The actor of the admin key that created it',
  })
  createdBy: string;

  @ApiProperty({ example: '2026-11-24T17:00:00.000Z' })
  createdAt: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-11-24T17:05:00.000Z',
    description: 'Recorded every few seconds, not per request',
  })
  lastUsedAt: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  revokedAt: string | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({
    example: 'sy_k3j5n2m8q1_0nQ2hQb1x8h1t7Zk0yq3Vt2bJq9mX5wR4cL6pN8sD1e',
    description: 'The key itself: shown only in this response, store it now',
  })
  key: string;
}

/** The key that made the request, as GET /api/keys/me answers: what it may do, never the key. */
export class KeyIdentityDto {
  @ApiProperty({ example: '0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b' })
  id: string;

  @ApiProperty({ example: 'on-call' })
  name: string;

  @ApiProperty({ example: 'sy_k3j5n2m8q1' })
  prefix: string;

  @ApiProperty({
    enum: SCOPES,
    isArray: true,
    example: ['read'],
    description: 'admin implies every other scope: the control room shows action buttons only to admin keys',
  })
  scopes: Scope[];

  @ApiProperty({ type: [String], nullable: true, example: null, description: 'null: every policy' })
  policies: string[] | null;

  @ApiProperty({
    example: 'key:0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b (on-call)',
    description: 'How history rows name this key when it changes something',
  })
  actor: string;
}
