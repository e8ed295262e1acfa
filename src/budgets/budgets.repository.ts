import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import type { BudgetAction, BudgetPeriod, BudgetScope } from './budget.types';
import { BudgetEntity } from './entities/budget.entity';

/** Channel every replica LISTENs on; the payload is the id of the budget created, changed or deleted. */
export const BUDGETS_CHANNEL = 'switchyard_budgets';

export interface NewBudgetRow {
  scope: BudgetScope;
  target: string;
  limitUsd: string;
  period: BudgetPeriod;
  timezone: string;
  onExhausted: BudgetAction;
  alertAt: number[];
  createdBy: string;
  createdAt: Date;
}

export type BudgetChanges = Partial<Pick<BudgetEntity, 'limitUsd' | 'onExhausted' | 'alertAt'>> & { updatedAt: Date };

/** Every query on `budgets`. Changes NOTIFY in their transaction, so every replica reloads after the commit. */
@Injectable()
export class BudgetsRepository {
  constructor(@InjectRepository(BudgetEntity) private readonly budgets: Repository<BudgetEntity>) {}

  findAll(): Promise<BudgetEntity[]> {
    return this.budgets.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  findById(id: string): Promise<BudgetEntity | null> {
    return this.budgets.findOneBy({ id });
  }

  /** null when a budget with the same scope, target and period exists. */
  async insert(manager: EntityManager, row: NewBudgetRow): Promise<BudgetEntity | null> {
    const rows: Array<{ id: string }> = await manager.query(
      `INSERT INTO budgets (scope, target, limit_usd, period, timezone, on_exhausted, alert_at, created_by, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::float8[], $8, $9, $9)
       ON CONFLICT (scope, target, period) DO NOTHING
       RETURNING id`,
      [
        row.scope,
        row.target,
        row.limitUsd,
        row.period,
        row.timezone,
        row.onExhausted,
        row.alertAt,
        row.createdBy,
        row.createdAt,
      ],
    );
    if (rows.length === 0) return null;
    await this.notifyChanged(manager, rows[0].id);
    return manager.getRepository(BudgetEntity).findOneByOrFail({ id: rows[0].id });
  }

  /** The budget with the same scope, target and period (what an insert conflicted with). */
  findSame(
    manager: EntityManager,
    scope: BudgetScope,
    target: string,
    period: BudgetPeriod,
  ): Promise<BudgetEntity | null> {
    return manager.getRepository(BudgetEntity).findOneBy({ scope, target, period });
  }

  /** Applies the changes and bumps the version, in one statement. */
  async update(manager: EntityManager, id: string, changes: BudgetChanges): Promise<BudgetEntity | null> {
    const result = await manager
      .getRepository(BudgetEntity)
      .update({ id }, { ...changes, version: () => 'version + 1' });
    if (!result.affected) return null;
    await this.notifyChanged(manager, id);
    return manager.getRepository(BudgetEntity).findOneByOrFail({ id });
  }

  /** Its periods, leases and hourly spend go with it (ON DELETE CASCADE). */
  async delete(manager: EntityManager, id: string): Promise<BudgetEntity | null> {
    const budget = await manager.getRepository(BudgetEntity).findOneBy({ id });
    if (!budget) return null;
    // A delete racing this one may have removed the row since it was read: only the one whose DELETE
    // removed it deleted the budget; the others find nothing, as they would a moment later.
    const { affected } = await manager.getRepository(BudgetEntity).delete({ id });
    if (!affected) return null;
    await this.notifyChanged(manager, id);
    return budget;
  }

  private async notifyChanged(manager: EntityManager, id: string): Promise<void> {
    await manager.query('SELECT pg_notify($1, $2)', [BUDGETS_CHANNEL, id]);
  }
}
