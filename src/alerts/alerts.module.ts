import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MetricsModule } from '../metrics/metrics.module';
import { ProvidersModule } from '../providers/providers.module';
import { AlertDeliveriesRepository } from './alert-deliveries.repository';
import { AlertSendScheduler } from './alert-send.scheduler';
import { AlertSender } from './alert-sender';
import { AlertsController } from './alerts.controller';
import { AlertsRepository } from './alerts.repository';
import { AlertsService } from './alerts.service';
import { AlertDeliveryEntity } from './entities/alert-delivery.entity';
import { AlertEntity } from './entities/alert.entity';
import { ProviderAlerts } from './provider-alerts';
import { WebhookClient } from './webhook-client';

/**
 * The alert outbox and its webhook sender. Depends on providers only to hear about circuits
 * opening and keys refused; canary and guardrails raise through AlertsService, the one thing exported.
 */
@Module({
  imports: [TypeOrmModule.forFeature([AlertEntity, AlertDeliveryEntity]), HttpModule, ProvidersModule, MetricsModule],
  controllers: [AlertsController],
  providers: [
    AlertsRepository,
    AlertDeliveriesRepository,
    AlertsService,
    WebhookClient,
    AlertSender,
    AlertSendScheduler,
    ProviderAlerts,
  ],
  exports: [AlertsService],
})
export class AlertsModule {}
