import { Body, Controller, Delete, Get, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrorDto } from '../common/api-error.dto';
import { UuidParam } from '../common/uuid-param';
import { RequireScope } from './access.decorators';
import { ApiKeysService } from './api-keys.service';
import { Caller } from './caller.decorator';
import { ApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';
import { CreateApiKeyDto } from './dto/create-api-key.dto';
import type { AuthenticatedCaller } from './scopes';

const KeyId = () => UuidParam('id', 'an API key id');

@ApiTags('keys')
@RequireScope('admin')
@Controller('api/keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create a key for a team: the key is in this response only, store it now' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiBadRequestResponse({
    type: ApiErrorDto,
    description: 'Invalid field (named in the message), or an unknown policy',
  })
  create(@Body() dto: CreateApiKeyDto, @Caller() caller: AuthenticatedCaller): Promise<CreatedApiKeyDto> {
    return this.keys.create(dto, caller);
  }

  @Get()
  @ApiOperation({ summary: 'Every key, revoked ones too, oldest first; never a key or its hash' })
  @ApiOkResponse({ type: [ApiKeyDto] })
  list(): Promise<ApiKeyDto[]> {
    return this.keys.list();
  }

  @Get(':id')
  @ApiOperation({ summary: 'One key' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiBadRequestResponse({ type: ApiErrorDto, description: 'The id is not a UUID' })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  get(@KeyId() id: string): Promise<ApiKeyDto> {
    return this.keys.get(id);
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Revoke: refused on every replica within a second; the row stays (metrics and history point to it)',
  })
  @ApiOkResponse({ type: ApiKeyDto, description: 'The revoked key' })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  @ApiConflictResponse({ type: ApiErrorDto, description: 'Already revoked (the message says when)' })
  revoke(@KeyId() id: string, @Caller() caller: AuthenticatedCaller): Promise<ApiKeyDto> {
    return this.keys.revoke(id, caller);
  }
}
