import { isDeepStrictEqual } from 'node:util';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessService } from '../access/access.service';
import { type AuthenticatedCaller, grants } from '../access/scopes';
import { CatalogService } from '../catalog/catalog.service';
import { Clock } from '../common/clock';
import { isUuid } from '../common/uuid-param';
import { formatPico, picoOf } from '../metrics/cost';
import { ActiveCanaries } from '../policies/active-canaries';
import { BudgetDirectory, toDefinition } from './budget-directory';
import { BudgetExists, BudgetInvalid, BudgetNotFound } from './budget.errors';
import { canonicalTimezone, currentPeriodOf } from './budget-period';
import { BudgetPeriodsRepository } from './budget-periods.repository';
import { BudgetLeasesRepository } from './budget-leases.repository';
import { budgetView, periodView } from './budget-view';
import { BudgetStatusReader } from './budget-status.reader';
import { DEFAULT_ALERT_AT } from './budget.types';
import { BudgetsRepository } from './budgets.repository';
import type { BudgetDto, BudgetStatusDto } from './dto/budget.dto';
import type { CreateBudgetDto, UpdateBudgetDto } from './dto/budget-input.dto';
import type { BudgetEntity } from './entities/budget.entity';

/**
 * Budgets' definitions (create, change, delete: each NOTIFYing every replica in its transaction)
 * and what they stand at. The spending itself is BudgetGate's and BudgetLeases'.
 */
@Injectable()
export class BudgetsService {
  private readonly logger = new Logger(BudgetsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly budgets: BudgetsRepository,
    private readonly periods: BudgetPeriodsRepository,
    private readonly leases: BudgetLeasesRepository,
    private readonly directory: BudgetDirectory,
    private readonly status: BudgetStatusReader,
    private readonly canaries: ActiveCanaries,
    private readonly access: AccessService,
    private readonly catalog: CatalogService,
    private readonly clock: Clock,
  ) {}

  async create(dto: CreateBudgetDto, caller: AuthenticatedCaller): Promise<BudgetDto> {
    const timezone = canonicalTimezone(dto.timezone ?? 'UTC');
    // Ids are matched as text (the directory, the uniqueness of scope + target + period), and Postgres
    // writes UUIDs in lower case: one in capitals would name no key or canary, or a second budget.
    const target = dto.scope === 'policy' ? dto.target : dto.target.toLowerCase();
    const problems = await this.targetProblems(dto.scope, target);
    if (!timezone) problems.push(`timezone: "${dto.timezone}" is not an IANA time zone (e.g. Europe/Paris, UTC)`);
    if (dto.onExhausted === 'shadow_only' && dto.scope !== 'canary')
      problems.push('onExhausted: shadow_only applies to canary budgets only (scope canary); use reject or downgrade');
    if (problems.length > 0) throw new BudgetInvalid(problems);
    const entity = await this.dataSource.transaction(async (manager) => {
      const inserted = await this.budgets.insert(manager, {
        scope: dto.scope,
        target,
        limitUsd: formatPico(picoOf(dto.limitUsd)),
        period: dto.period,
        timezone: timezone!,
        onExhausted: dto.onExhausted,
        alertAt: sortedThresholds(dto.alertAt ?? DEFAULT_ALERT_AT),
        createdBy: caller.actor,
        createdAt: this.clock.now(),
      });
      if (inserted) return inserted;
      const existing = await this.budgets.findSame(manager, dto.scope, target, dto.period);
      throw new BudgetExists(existing?.id ?? 'unknown', dto.scope, target, dto.period);
    });
    await this.directory.changed(entity.id);
    this.logger.log(
      { budget: entity.id, scope: entity.scope, target: entity.target, actor: caller.actor },
      `created ${this.directory.nameOf(entity)}`,
    );
    return (await this.views([entity]))[0];
  }

  async list(): Promise<BudgetDto[]> {
    return this.views(await this.budgets.findAll());
  }

  async get(id: string): Promise<BudgetStatusDto> {
    const entity = await this.find(id);
    const [view] = await this.views([entity]);
    return { ...view, ...(await this.status.read(toDefinition(entity), this.clock.nowMs())) };
  }

  async update(id: string, dto: UpdateBudgetDto, caller: AuthenticatedCaller): Promise<BudgetDto> {
    const current = await this.find(id);
    if (dto.onExhausted === 'shadow_only' && current.scope !== 'canary')
      throw new BudgetInvalid(['onExhausted: shadow_only applies to canary budgets only (scope canary)']);
    const changes = {
      ...(dto.limitUsd !== undefined ? { limitUsd: formatPico(picoOf(dto.limitUsd)) } : {}),
      ...(dto.onExhausted !== undefined ? { onExhausted: dto.onExhausted } : {}),
      ...(dto.alertAt !== undefined ? { alertAt: sortedThresholds(dto.alertAt) } : {}),
    };
    // What would change nothing writes nothing (updatedAt stays), as for flags.
    if (isDeepStrictEqual({ ...pick(current, changes), ...changes }, pick(current, changes)))
      return (await this.views([current]))[0];
    const entity = await this.dataSource.transaction(async (manager) => {
      const updated = await this.budgets.update(manager, id, { ...changes, updatedAt: this.clock.now() });
      if (!updated) throw new BudgetNotFound(id);
      const limitPico = picoOf(updated.limitUsd);
      if (limitPico > picoOf(current.limitUsd)) {
        // More room: "used up" and the alerts crossed under the old limit no longer hold. The period
        // counts as used up again, with its alerts, only when a request no longer fits in the new one.
        const { key } = currentPeriodOf(toDefinition(updated), this.clock.nowMs());
        await this.periods.reopen(manager, key, updated.limitUsd, this.clock.now());
      }
      return updated;
    });
    await this.directory.changed(id);
    this.logger.log({ budget: id, changes: dto, actor: caller.actor }, `changed ${this.directory.nameOf(entity)}`);
    return (await this.views([entity]))[0];
  }

  /** The budget as it stood, with its current period's figures; its ledger goes with it. */
  async delete(id: string, caller: AuthenticatedCaller): Promise<BudgetDto> {
    const entity = await this.find(id);
    const [view] = await this.views([entity]);
    const name = this.directory.nameOf(entity);
    const deleted = await this.dataSource.transaction((manager) => this.budgets.delete(manager, id));
    if (!deleted) throw new BudgetNotFound(id);
    await this.directory.changed(id);
    this.logger.log({ budget: id, actor: caller.actor }, `deleted ${name}`);
    return view;
  }

  private async find(id: string): Promise<BudgetEntity> {
    if (!isUuid(id)) throw new BudgetNotFound(id);
    const entity = await this.budgets.findById(id);
    if (!entity) throw new BudgetNotFound(id);
    return entity;
  }

  /** Budgets with their current period's spent and reserved: three queries however many budgets. */
  private async views(entities: BudgetEntity[]): Promise<BudgetDto[]> {
    const nowMs = this.clock.nowMs();
    const periods = entities.map((entity) => currentPeriodOf(toDefinition(entity), nowMs));
    const windows = periods.map((period) => period.window);
    const keys = periods.map((period) => period.key);
    const manager = this.dataSource.manager;
    const [rows, reserved] = await Promise.all([
      this.periods.summaries(manager, keys),
      this.leases.reservedOf(manager, keys, new Date(nowMs)),
    ]);
    return entities.map((entity, index) => {
      const row = rows.get(entity.id);
      return budgetView(
        entity,
        periodView(picoOf(entity.limitUsd), windows[index], {
          spentPico: picoOf(row?.spentUsd ?? '0'),
          reservedPico: picoOf(reserved.get(entity.id) ?? '0'),
          exhausted: row?.exhausted ?? false,
        }),
      );
    });
  }

  /** What is wrong with the target, each problem naming the field: it must exist and be able to spend. */
  private async targetProblems(scope: CreateBudgetDto['scope'], target: string): Promise<string[]> {
    if (scope === 'policy') {
      if (this.catalog.findPolicy(target)) return [];
      const known = this.catalog.listPolicies().map((policy) => policy.name);
      return [`target: "${target}" is not a policy (catalog policies: ${known.join(', ')})`];
    }
    if (!isUuid(target)) return [`target: a ${scope} budget's target is the ${scope}'s id (a UUID)`];
    if (scope === 'key') {
      const key = this.access.findKey(target);
      if (!key) return [`target: no API key has the id ${target} (GET /api/keys lists them)`];
      if (key.revokedAt) return [`target: the API key ${key.caller.prefix} is revoked; it cannot spend any more`];
      if (!grants(key.caller.scopes, 'gateway'))
        return [
          `target: the API key ${key.caller.prefix} has no gateway scope (scopes: ${key.caller.scopes.join(', ')}); it cannot spend`,
        ];
      return [];
    }
    const arm = (await this.canaries.list()).find((canary) => canary.id === target);
    return arm
      ? []
      : [`target: no pending, running or paused canary has the id ${target} (GET /api/canaries lists them)`];
  }
}

/** `entity`'s values of the fields `changes` has. */
function pick(entity: BudgetEntity, changes: Partial<BudgetEntity>): Partial<BudgetEntity> {
  return Object.fromEntries(Object.keys(changes).map((field) => [field, entity[field as keyof BudgetEntity]]));
}

function sortedThresholds(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}
