import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CatalogModule } from '../catalog/catalog.module';
import { FlagHistoryEntity } from './entities/flag-history.entity';
import { FlagEntity } from './entities/flag.entity';
import { FlagCache } from './flag-cache';
import { FlagChangeService } from './flag-change.service';
import { FlagCatalogCheck } from './flag-catalog-check';
import { FlagHistoryRepository } from './flag-history.repository';
import { FlagsController } from './flags.controller';
import { FlagsRepository } from './flags.repository';
import { FlagsService } from './flags.service';
import { OfrepController } from './ofrep.controller';

@Module({
  imports: [TypeOrmModule.forFeature([FlagEntity, FlagHistoryEntity]), CatalogModule],
  controllers: [FlagsController, OfrepController],
  providers: [FlagsRepository, FlagHistoryRepository, FlagCache, FlagsService, FlagChangeService, FlagCatalogCheck],
  // Only the services: other modules read, evaluate and change flags through them, never the tables.
  exports: [FlagsService, FlagChangeService],
})
export class FlagsModule {}
