import { Body, Controller, Delete, Get, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiDatabaseUnavailable, ApiInvalidBody, ApiNoBody, ApiOperatorError } from '../common/api-error-responses';
import { InvalidInput } from '../common/request-errors';
import { UuidParam } from '../common/uuid-param';
import { notAField } from '../common/validation';
import { RequireScope } from './access.decorators';
import {
  AdminKeyWithPolicies,
  ApiKeyAlreadyRevoked,
  ApiKeyNotFound,
  LastAdminKey,
  LimitsWithoutGateway,
  UnknownPolicies,
} from './api-key.errors';
import { ApiKeysService } from './api-keys.service';
import { Caller } from './caller.decorator';
import { ApiKeyDto, CreatedApiKeyDto, KeyIdentityDto } from './dto/api-key.dto';
import { CreateApiKeyDto } from './dto/create-api-key.dto';
import type { AuthenticatedCaller } from './scopes';

const KeyId = () => UuidParam('id', 'an API key id');
const EXAMPLE_ID = '0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b';
const ApiKeyIdParam = () => ApiParam({ name: 'id', format: 'uuid', description: 'The `id` of a key (not its prefix)' });
/** With `bodyFields`, the route takes no body: one with fields is refused too. */
const ApiBadKeyId = (...bodyFields: InvalidInput[]) =>
  ApiOperatorError(
    bodyFields.length > 0 ? 'The id is not a UUID, or the request has a body with fields' : 'The id is not a UUID',
    new InvalidInput(['id must be an API key id (a UUID)'], 'id'),
    ...bodyFields,
  );
const ApiKeyNotFoundResponse = () => ApiOperatorError('No key has this id', new ApiKeyNotFound(EXAMPLE_ID));

@ApiTags('keys')
@RequireScope('admin')
@Controller('api/keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiDatabaseUnavailable()
  @ApiOperation({ summary: 'Create a key for a team: the key is in this response only, store it now' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiInvalidBody(
    'Invalid field (each named in the message), an unknown policy, an admin key limited to policies, or limits on a key without the gateway scope',
    new InvalidInput(['name is required', 'scopes must each be one of: gateway, read, admin']),
    new UnknownPolicies(['poetry'], ['recommendations', 'chat', 'fraud']),
    new AdminKeyWithPolicies(),
    new LimitsWithoutGateway(['policies'], ['read']),
  )
  create(@Body() dto: CreateApiKeyDto, @Caller() caller: AuthenticatedCaller): Promise<CreatedApiKeyDto> {
    return this.keys.create(dto, caller);
  }

  @Get()
  @ApiDatabaseUnavailable()
  @ApiOperation({ summary: 'Every key, revoked ones too, oldest first; never a key or its hash' })
  @ApiOkResponse({ type: [ApiKeyDto] })
  list(): Promise<ApiKeyDto[]> {
    return this.keys.list();
  }

  // Before `:id`, which would take "me" for an id. A read key may ask: the control room signs in with one.
  // Answered from the key cache: no database needed, so signing in works while Postgres is away.
  @Get('me')
  @RequireScope('read')
  @ApiOperation({
    summary: 'The key of this request: its name, prefix and scopes (what a signed-in page may show); never the key',
  })
  @ApiOkResponse({ type: KeyIdentityDto })
  me(@Caller() caller: AuthenticatedCaller): KeyIdentityDto {
    return {
      id: caller.id,
      name: caller.name,
      prefix: caller.prefix,
      scopes: [...caller.scopes],
      policies: caller.policies === null ? null : [...caller.policies],
      actor: caller.actor,
    };
  }

  @Get(':id')
  @ApiDatabaseUnavailable()
  @ApiOperation({ summary: 'One key' })
  @ApiKeyIdParam()
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiBadKeyId()
  @ApiKeyNotFoundResponse()
  get(@KeyId() id: string): Promise<ApiKeyDto> {
    return this.keys.get(id);
  }

  @Delete(':id')
  @ApiDatabaseUnavailable()
  @ApiOperation({
    summary: 'Revoke: refused on every replica within a second; the row stays (metrics and history point to it)',
  })
  @ApiKeyIdParam()
  @ApiNoBody('None: a revocation takes no reason or option.')
  @ApiOkResponse({ type: ApiKeyDto, description: 'The revoked key' })
  @ApiBadKeyId(new InvalidInput([notAField('reason')]))
  @ApiKeyNotFoundResponse()
  @ApiOperatorError(
    'Already revoked (the message says when), or the last admin key not revoked (create another first)',
    new ApiKeyAlreadyRevoked('sy_k3j5n2m8q1', new Date('2026-11-24T17:05:00.000Z')),
    new LastAdminKey('sy_k3j5n2m8q1'),
  )
  revoke(@KeyId() id: string, @Caller() caller: AuthenticatedCaller): Promise<ApiKeyDto> {
    return this.keys.revoke(id, caller);
  }
}
