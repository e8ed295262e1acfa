import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CatalogModule } from '../catalog/catalog.module';
import { AccessGuard } from './access.guard';
import { AccessService } from './access.service';
import { ApiKeyCache } from './api-key-cache';
import { ApiKeyUsageRepository } from './api-key-usage.repository';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyEntity } from './entities/api-key.entity';
import { UsageLimiter } from './usage-limiter';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity]), CatalogModule],
  controllers: [ApiKeysController],
  providers: [
    ApiKeysRepository,
    ApiKeyUsageRepository,
    ApiKeyCache,
    ApiKeysService,
    AccessService,
    UsageLimiter,
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
  // The gateway checks keys and limits itself (its raw fast path runs outside Nest's guards).
  exports: [AccessService, UsageLimiter],
})
export class AccessModule {}
