import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import { AlertDeliveryEntity } from './entities/alert-delivery.entity';

export interface NewDeliveryRow {
  alertId: string;
  attempt: number;
  targetOrigin: string;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
}

/** Every query on `alert_deliveries`: one row per attempt, appended with the alert's update. */
@Injectable()
export class AlertDeliveriesRepository {
  constructor(@InjectRepository(AlertDeliveryEntity) private readonly deliveries: Repository<AlertDeliveryEntity>) {}

  async append(manager: EntityManager, row: NewDeliveryRow): Promise<void> {
    await manager.query(
      `INSERT INTO alert_deliveries (alert_id, attempt, target_origin, http_status, error, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [row.alertId, row.attempt, row.targetOrigin, row.httpStatus, row.error, row.durationMs],
    );
  }

  /** Oldest first. */
  listFor(alertId: string): Promise<AlertDeliveryEntity[]> {
    return this.deliveries.find({ where: { alertId }, order: { attempt: 'ASC', id: 'ASC' } });
  }
}
