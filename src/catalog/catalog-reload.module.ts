import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggingModule } from '../common/logging.module';
import { CatalogModule } from './catalog.module';
import { CatalogReloadsRepository } from './catalog-reloads.repository';
import { CatalogReloader } from './catalog-reloader';
import { CatalogController } from './catalog.controller';
import { CatalogReloadEntity } from './entities/catalog-reload.entity';

/**
 * Catalog reloads: `POST /api/catalog/reload`, SIGHUP, and following other replicas' reloads
 * through LISTEN/NOTIFY; the `catalog_reloads` record. Kept apart from CatalogModule, which every
 * module imports for reading the catalog and which needs no database.
 */
@Module({
  imports: [TypeOrmModule.forFeature([CatalogReloadEntity]), CatalogModule, LoggingModule],
  controllers: [CatalogController],
  providers: [CatalogReloadsRepository, CatalogReloader],
})
export class CatalogReloadModule {}
