import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { LoggingModule } from './common/logging.module';
import { appConfig } from './config/app.config';
import { catalogConfig } from './config/catalog.config';
import { databaseConfig } from './config/database.config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { ProvidersModule } from './providers/providers.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, cache: true, load: [appConfig, databaseConfig, catalogConfig] }),
    LoggingModule,
    DatabaseModule,
    ProvidersModule,
    HealthModule,
  ],
})
export class AppModule {}
