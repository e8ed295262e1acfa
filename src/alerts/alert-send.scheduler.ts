import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { alertsConfig, type AlertsConfig } from '../config/alerts.config';
import { AlertSender } from './alert-sender';
import { urlOrigin } from './webhook-url';

const INTERVAL_NAME = 'alert-sender';

/**
 * Ticks every ALERT_SEND_INTERVAL_MS and asks the sender to send what is due; nothing else. The
 * interval is registered with @nestjs/schedule's registry (its period comes from configuration, so
 * it cannot be an @Interval decorator). On shutdown the ticks stop first, then the sender finishes
 * its round while the database is still open.
 */
@Injectable()
export class AlertSendScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AlertSendScheduler.name);

  constructor(
    @Inject(alertsConfig.KEY) private readonly config: AlertsConfig,
    private readonly sender: AlertSender,
    private readonly registry: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const timer = setInterval(() => void this.sender.sendDue(), this.config.sendIntervalMs);
    this.registry.addInterval(INTERVAL_NAME, timer);
    this.logger.log(
      this.config.webhookUrl
        ? `sending alerts every ${this.config.sendIntervalMs} ms to ${urlOrigin(this.config.webhookUrl)} (${this.config.format})`
        : `sending alerts every ${this.config.sendIntervalMs} ms; ALERT_WEBHOOK_URL is unset, so alerts without their own target are marked no_target`,
    );
  }

  async onModuleDestroy(): Promise<void> {
    if (this.registry.doesExist('interval', INTERVAL_NAME)) this.registry.deleteInterval(INTERVAL_NAME);
    await this.sender.stop();
  }
}
