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

  /**
   * The budget, its row locked until the caller's transaction ends, so that the version it is read at
   * is the one its change or deletion applies to. `for_no_key_update` for a change: a ledger sync
   * creating a period row (its foreign key's KEY SHARE lock) does not wait on it. A deletion needs
   * `for_update` (DELETE's own lock). A change or deletion racing this one waits for it, then reads
   * the row as it left it (or nothing).
   *
   * A deletion first locks the budget's period rows: a ledger sync locks its period row, then takes
   * KEY SHARE on the budget (its lease and receipt inserts), and the deletion's cascade needs the
   * period rows after the budget's lock. Taken the other way round the two deadlock (Postgres then
   * aborts one: a 500 for the DELETE, seen in a full test run).
   */
  async findForChange(
    manager: EntityManager,
    id: string,
    lock: 'for_no_key_update' | 'for_update',
  ): Promise<BudgetEntity | null> {
    if (lock === 'for_update')
      await manager.query('SELECT 1 FROM budget_periods WHERE budget_id = $1 FOR UPDATE', [id]);
    return manager
      .getRepository(BudgetEntity)
      .createQueryBuilder('budget')
      .setLock(lock === 'for_update' ? 'pessimistic_write' : 'for_no_key_update')
      .where('budget.id = :id', { id })
      .getOne();
  }

  /**
   * Optimistic concurrency: applies the changes and bumps the version in one statement, only if the
   * row is still at `version`. null (nothing written) when it is not: under findForChange's lock that
   * cannot happen, and a lost update stays impossible even if the lock were ever dropped.
   */
  async updateIfVersion(
    manager: EntityManager,
    id: string,
    version: number,
    changes: BudgetChanges,
  ): Promise<BudgetEntity | null> {
    const result = await manager
      .getRepository(BudgetEntity)
      .update({ id, version }, { ...changes, version: () => 'version + 1' });
    if (!result.affected) return null;
    await this.notifyChanged(manager, id);
    return manager.getRepository(BudgetEntity).findOneByOrFail({ id });
  }

  /** As updateIfVersion, for a deletion. Its periods, leases and hourly spend go with it (ON DELETE CASCADE). */
  async deleteIfVersion(manager: EntityManager, id: string, version: number): Promise<boolean> {
    const { affected } = await manager.getRepository(BudgetEntity).delete({ id, version });
    if (!affected) return false;
    await this.notifyChanged(manager, id);
    return true;
  }

  private async notifyChanged(manager: EntityManager, id: string): Promise<void> {
    await manager.query('SELECT pg_notify($1, $2)', [BUDGETS_CHANNEL, id]);
  }
}
