import { usdNumberOf } from '../metrics/cost';
import type { BudgetDto, BudgetPeriodDto } from './dto/budget.dto';
import type { BudgetEntity } from './entities/budget.entity';
import type { PeriodWindow } from './budget-period';

export interface PeriodFigures {
  spentPico: bigint;
  reservedPico: bigint;
  exhausted: boolean;
}

export function periodView(limitPico: bigint, window: PeriodWindow, figures: PeriodFigures): BudgetPeriodDto {
  const remaining = limitPico - figures.spentPico - figures.reservedPico;
  return {
    start: new Date(window.startMs).toISOString(),
    end: window.endMs === null ? null : new Date(window.endMs).toISOString(),
    spentUsd: usdNumberOf(figures.spentPico),
    reservedUsd: usdNumberOf(figures.reservedPico),
    remainingUsd: usdNumberOf(remaining > 0n ? remaining : 0n),
    exhausted: figures.exhausted,
  };
}

export function budgetView(entity: BudgetEntity, current: BudgetPeriodDto): BudgetDto {
  return {
    id: entity.id,
    scope: entity.scope,
    target: entity.target,
    limitUsd: Number(entity.limitUsd),
    period: entity.period,
    timezone: entity.timezone,
    onExhausted: entity.onExhausted,
    alertAt: [...entity.alertAt].map(Number).sort((a, b) => a - b),
    version: entity.version,
    createdBy: entity.createdBy,
    createdAt: entity.createdAt.toISOString(),
    updatedAt: entity.updatedAt.toISOString(),
    current,
  };
}
