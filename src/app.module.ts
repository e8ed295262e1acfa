import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { LoggingModule } from './common/logging.module';
import { CONFIGURATION } from './config/configuration';
import { DatabaseModule } from './database/database.module';
import { FlagsModule } from './flags/flags.module';
import { GatewayModule } from './gateway/gateway.module';
import { HealthModule } from './health/health.module';
import { ProvidersModule } from './providers/providers.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, cache: true, load: CONFIGURATION }),
    LoggingModule,
    DatabaseModule,
    ProvidersModule,
    FlagsModule,
    GatewayModule,
    HealthModule,
  ],
})
export class AppModule {}
