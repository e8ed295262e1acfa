import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CatalogModule } from '../catalog/catalog.module';
import { FlagHistoryEntity } from './entities/flag-history.entity';
import { FlagEntity } from './entities/flag.entity';
import { FlagCache } from './flag-cache';
import { FlagCatalogCheck } from './flag-catalog-check';
import { FlagHistoryRepository } from './flag-history.repository';
import { FlagsController } from './flags.controller';
import { FlagsRepository } from './flags.repository';
import { FlagsService } from './flags.service';
import { OfrepController } from './ofrep.controller';

@Module({
  imports: [TypeOrmModule.forFeature([FlagEntity, FlagHistoryEntity]), CatalogModule],
  controllers: [FlagsController, OfrepController],
  providers: [FlagsRepository, FlagHistoryRepository, FlagCache, FlagsService, FlagCatalogCheck],
  // Only the service: other modules change and evaluate flags through it, never the tables.
  exports: [FlagsService],
})
export class FlagsModule {}
