import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { accessConfig, type AccessConfig } from '../config/access.config';
import { LockKey, lockForTransaction } from '../database/advisory-locks';
import { CatalogService } from '../catalog/catalog.service';
import { generateApiKey, hashApiKey, prefixOf, type NewApiKey } from './api-key-format';
import { ApiKeyCache } from './api-key-cache';
import {
  AdminKeyWithPolicies,
  ApiKeyAlreadyRevoked,
  ApiKeyNotFound,
  LastAdminKey,
  LimitsWithoutGateway,
  UnknownPolicies,
} from './api-key.errors';
import { ApiKeysRepository, type NewApiKeyRow } from './api-keys.repository';
import type { ApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';
import type { CreateApiKeyDto } from './dto/create-api-key.dto';
import type { ApiKeyEntity } from './entities/api-key.entity';
import { grants, type AuthenticatedCaller } from './scopes';

const ENV_KEY_NAME = 'admin (SWITCHYARD_ADMIN_KEY)';
const BOOTSTRAP_KEY_NAME = 'bootstrap-admin';

/**
 * Creates, lists and revokes keys, and makes sure an admin key exists at start-up: the one in
 * SWITCHYARD_ADMIN_KEY (its hash upserted, so every replica accepts it), or, on a database without
 * any key, a new one printed once to stdout — never to the logger, whose lines are shipped elsewhere.
 */
@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly keys: ApiKeysRepository,
    private readonly cache: ApiKeyCache,
    private readonly catalog: CatalogService,
    @Inject(accessConfig.KEY) private readonly config: AccessConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const created = await this.ensureAdminKey();
    await this.cache.start();
    if (created) printOnce(created);
  }

  async create(dto: CreateApiKeyDto, caller: AuthenticatedCaller): Promise<CreatedApiKeyDto> {
    if (dto.policies && dto.scopes.includes('admin')) throw new AdminKeyWithPolicies();
    if (!grants(dto.scopes, 'gateway')) {
      const limits = (['policies', 'requestsPerMinute', 'tokensPerMinute'] as const).filter(
        (field) => dto[field] !== undefined,
      );
      if (limits.length > 0) throw new LimitsWithoutGateway(limits, dto.scopes);
    }
    if (dto.policies) {
      const known = new Set(this.catalog.listPolicies().map((policy) => policy.name));
      const unknown = dto.policies.filter((name) => !known.has(name));
      if (unknown.length > 0) throw new UnknownPolicies(unknown, [...known]);
    }
    const row = (generated: NewApiKey): NewApiKeyRow => ({
      name: dto.name,
      prefix: generated.prefix,
      keyHash: generated.hash,
      scopes: dto.scopes,
      policies: dto.policies ?? null,
      requestsPerMinute: dto.requestsPerMinute ?? null,
      tokensPerMinute: dto.tokensPerMinute ?? null,
      createdBy: caller.actor,
    });
    const { entity, generated } = await this.insertWithFreshPrefix(row);
    this.cache.put(entity);
    this.logger.log(
      { apiKeyId: entity.id, prefix: entity.prefix, scopes: entity.scopes, actor: caller.actor },
      'API key created',
    );
    return { ...toDto(entity), key: generated.key };
  }

  async list(): Promise<ApiKeyDto[]> {
    return (await this.keys.findAll()).map(toDto);
  }

  async get(id: string): Promise<ApiKeyDto> {
    const entity = await this.keys.findById(id);
    if (!entity) throw new ApiKeyNotFound(id);
    return toDto(entity);
  }

  /** Effective here at once and on every other replica as soon as its NOTIFY arrives (well under a second). */
  async revoke(id: string, caller: AuthenticatedCaller): Promise<ApiKeyDto> {
    const result = await this.keys.revoke(id);
    if (!result) throw new ApiKeyNotFound(id);
    if (result.lastAdmin) throw new LastAdminKey(result.key.prefix);
    if (!result.revokedNow) throw new ApiKeyAlreadyRevoked(result.key.prefix, result.key.revokedAt);
    this.cache.put(result.key);
    this.logger.log({ apiKeyId: id, prefix: result.key.prefix, actor: caller.actor }, 'API key revoked');
    return toDto(result.key);
  }

  private async insertWithFreshPrefix(
    row: (generated: NewApiKey) => NewApiKeyRow,
  ): Promise<{ entity: ApiKeyEntity; generated: NewApiKey }> {
    // A prefix is 10 random characters: a clash is astronomically rare, but costs only a retry.
    for (let attempt = 0; attempt < 3; attempt++) {
      const generated = generateApiKey();
      const entity = await this.dataSource.transaction((manager) => this.keys.insert(manager, row(generated)));
      if (entity) return { entity, generated };
    }
    throw new Error('could not find a free API key prefix in 3 attempts');
  }

  /** Returns the key to print when it created one. */
  private async ensureAdminKey(): Promise<NewApiKey | undefined> {
    return this.dataSource.transaction(async (manager) => {
      await lockForTransaction(manager, LockKey.BootstrapAdminKey);
      const envKey = this.config.adminKey;
      if (envKey) {
        const hash = hashApiKey(envKey);
        const existing = await this.keys.findByHash(manager, hash);
        if (existing?.revokedAt) {
          // Revoked on purpose (leaked?): a restart must not bring it back.
          this.logger.warn(
            `SWITCHYARD_ADMIN_KEY (${existing.prefix}) was revoked; set a new one or use another admin key`,
          );
        } else if (existing && !existing.scopes.includes('admin')) {
          this.logger.warn(
            `SWITCHYARD_ADMIN_KEY is the key ${existing.prefix}, which has no admin scope; it stays as it is`,
          );
        } else if (!existing) {
          const entity = await this.keys.insert(manager, {
            name: ENV_KEY_NAME,
            prefix: prefixOf(envKey, hash),
            keyHash: hash,
            scopes: ['admin'],
            policies: null,
            requestsPerMinute: null,
            tokensPerMinute: null,
            createdBy: 'SWITCHYARD_ADMIN_KEY',
          });
          if (entity)
            this.logger.log(
              { apiKeyId: entity.id, prefix: entity.prefix },
              'admin key from SWITCHYARD_ADMIN_KEY registered',
            );
        }
        return undefined;
      }
      // Revoked keys count: a database whose keys were all revoked gets no new key behind anyone's back.
      if ((await this.keys.count(manager)) > 0) return undefined;
      const generated = generateApiKey();
      await this.keys.insert(manager, {
        name: BOOTSTRAP_KEY_NAME,
        prefix: generated.prefix,
        keyHash: generated.hash,
        scopes: ['admin'],
        policies: null,
        requestsPerMinute: null,
        tokensPerMinute: null,
        createdBy: 'bootstrap',
      });
      return generated;
    });
  }
}

function toDto(entity: ApiKeyEntity): ApiKeyDto {
  return {
    id: entity.id,
    name: entity.name,
    prefix: entity.prefix,
    scopes: entity.scopes,
    policies: entity.policies,
    requestsPerMinute: entity.requestsPerMinute,
    tokensPerMinute: entity.tokensPerMinute,
    createdBy: entity.createdBy,
    createdAt: entity.createdAt.toISOString(),
    lastUsedAt: entity.lastUsedAt?.toISOString() ?? null,
    revokedAt: entity.revokedAt?.toISOString() ?? null,
  };
}

/** stdout, once, after the key is committed: the logger ships its lines, this must stay on the console. */
function printOnce(created: NewApiKey): void {
  const rule = '='.repeat(78);
  // eslint-disable-next-line no-console -- the one line meant for the operator's terminal, not the log
  console.log(
    [
      '',
      rule,
      `Switchyard created an admin API key: ${created.key}`,
      '— store it now, it is not shown again.',
      'Use it as "Authorization: Bearer <key>"; create team keys with POST /api/keys (see README, "API keys").',
      'Set SWITCHYARD_ADMIN_KEY to choose the admin key yourself instead.',
      rule,
      '',
    ].join('\n'),
  );
}
