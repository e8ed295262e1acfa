import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Clock, type ScheduledJob } from '../common/clock';
import { alertsConfig, type AlertsConfig } from '../config/alerts.config';
import { AlertSender } from './alert-sender';
import { urlOrigin } from './webhook-url';

export const ALERT_SENDER_JOB = 'alert-sender';

/**
 * Ticks every ALERT_SEND_INTERVAL_MS on the Clock and asks the sender to send what is due; nothing
 * else. On the Clock, like every job whose timing decides something (when a retry is due), so a
 * test moves time instead of waiting for it. On shutdown the ticks stop first, then the sender
 * finishes its round while the database is still open.
 */
@Injectable()
export class AlertSendScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AlertSendScheduler.name);
  private job?: ScheduledJob;

  constructor(
    @Inject(alertsConfig.KEY) private readonly config: AlertsConfig,
    private readonly sender: AlertSender,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.job = this.clock.every(ALERT_SENDER_JOB, this.config.sendIntervalMs, async () => {
      await this.sender.sendDue();
    });
    this.logger.log(
      this.config.webhookUrl
        ? `sending alerts every ${this.config.sendIntervalMs} ms to ${urlOrigin(this.config.webhookUrl)} (${this.config.format})`
        : `sending alerts every ${this.config.sendIntervalMs} ms; ALERT_WEBHOOK_URL is unset, so alerts without their own target are marked no_target`,
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.job?.stop();
    await this.sender.stop();
  }
}
