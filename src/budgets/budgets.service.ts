import { isDeepStrictEqual } from 'node:util';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AccessService } from '../access/access.service';
import { type AuthenticatedCaller, grants } from '../access/scopes';
import { CatalogService } from '../catalog/catalog.service';
import { Clock } from '../common/clock';
import { isUuid } from '../common/uuid-param';
import { formatPico, picoOf } from '../metrics/cost';
import { ActiveCanaries } from '../policies/active-canaries';
import { BudgetDirectory, toDefinition } from './budget-directory';
import { BudgetExists, BudgetInvalid, BudgetNotFound, BudgetVersionConflict } from './budget.errors';
import { canonicalTimezone, currentPeriodOf } from './budget-period';
import { BudgetPeriodsRepository } from './budget-periods.repository';
import { BudgetLeasesRepository } from './budget-leases.repository';
import { budgetView, periodView } from './budget-view';
import { BudgetStatusReader } from './budget-status.reader';
import { DEFAULT_ALERT_AT } from './budget.types';
import { BudgetsRepository } from './budgets.repository';
import type { BudgetDto, BudgetStatusDto } from './dto/budget.dto';
import type { CreateBudgetDto, UpdateBudgetDto } from './dto/budget-input.dto';
import { BudgetEntity } from './entities/budget.entity';

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

  /**
   * With `dto.version`, only on that version (409 otherwise); without, on the current one. The row is
   * locked from the read to the commit, so the version checked is the one changed, and what the
   * change is compared with (the limit it raises, what would change nothing) is what it replaces.
   */
  async update(id: string, dto: UpdateBudgetDto, caller: AuthenticatedCaller): Promise<BudgetDto> {
    if (!isUuid(id)) throw new BudgetNotFound(id);
    const { entity, changed } = await this.dataSource.transaction(async (manager) => {
      const current = await this.budgets.findForChange(manager, id, 'for_no_key_update');
      if (!current) throw new BudgetNotFound(id);
      if (dto.onExhausted === 'shadow_only' && current.scope !== 'canary')
        throw new BudgetInvalid(['onExhausted: shadow_only applies to canary budgets only (scope canary)']);
      this.checkVersion(current, dto.version, 'change');
      const changes = {
        ...(dto.limitUsd !== undefined ? { limitUsd: formatPico(picoOf(dto.limitUsd)) } : {}),
        ...(dto.onExhausted !== undefined ? { onExhausted: dto.onExhausted } : {}),
        ...(dto.alertAt !== undefined ? { alertAt: sortedThresholds(dto.alertAt) } : {}),
      };
      // What would change nothing writes nothing (updatedAt and the version stay), as for flags.
      if (isDeepStrictEqual({ ...pick(current, changes), ...changes }, pick(current, changes)))
        return { entity: current, changed: false };
      const updated = await this.budgets.updateIfVersion(manager, id, current.version, {
        ...changes,
        updatedAt: this.clock.now(),
      });
      if (!updated) throw await this.conflictOf(manager, id, current.version, 'change');
      const limitPico = picoOf(updated.limitUsd);
      if (limitPico > picoOf(current.limitUsd)) {
        // More room: "used up" and the alerts crossed under the old limit no longer hold. The period
        // counts as used up again, with its alerts, only when a request no longer fits in the new one.
        const { key } = currentPeriodOf(toDefinition(updated), this.clock.nowMs());
        await this.periods.reopen(manager, key, updated.limitUsd, this.clock.now());
      }
      return { entity: updated, changed: true };
    });
    if (changed) {
      await this.directory.changed(id);
      this.logger.log(
        { budget: id, changes: dto, version: entity.version, actor: caller.actor },
        `changed ${this.directory.nameOf(entity)}`,
      );
    }
    return (await this.views([entity]))[0];
  }

  /**
   * The budget as it stood, with its current period's figures; its ledger goes with it. With
   * `version`, only on that version (409 otherwise). Of deletes that race, the first deletes it; the
   * others, waiting on its lock, then find nothing (404), as they would a moment later.
   */
  async delete(id: string, caller: AuthenticatedCaller, version?: number): Promise<BudgetDto> {
    if (!isUuid(id)) throw new BudgetNotFound(id);
    const { entity, view } = await this.dataSource.transaction(async (manager) => {
      const current = await this.budgets.findForChange(manager, id, 'for_update');
      if (!current) throw new BudgetNotFound(id);
      this.checkVersion(current, version, 'delete');
      // Read before the cascade takes its periods and leases with it.
      const [asItStood] = await this.views([current], manager);
      if (!(await this.budgets.deleteIfVersion(manager, id, current.version)))
        throw await this.conflictOf(manager, id, current.version, 'delete');
      return { entity: current, view: asItStood };
    });
    await this.directory.changed(id);
    this.logger.log(
      { budget: id, version: entity.version, actor: caller.actor },
      `deleted ${this.directory.nameOf(entity)}`,
    );
    return view;
  }

  /** A version sent that is not the budget's (as locked) refuses the change: nothing is written. */
  private checkVersion(current: BudgetEntity, sent: number | undefined, action: 'change' | 'delete'): void {
    if (sent !== undefined && sent !== current.version)
      throw new BudgetVersionConflict(this.directory.nameOf(current), sent, current.version, action);
  }

  /** What to answer when the row left `version` although it was locked: it changed (409) or went (404). */
  private async conflictOf(
    manager: EntityManager,
    id: string,
    version: number,
    action: 'change' | 'delete',
  ): Promise<BudgetVersionConflict | BudgetNotFound> {
    const now = await manager.getRepository(BudgetEntity).findOneBy({ id });
    return now
      ? new BudgetVersionConflict(this.directory.nameOf(now), version, now.version, action)
      : new BudgetNotFound(id);
  }

  private async find(id: string): Promise<BudgetEntity> {
    if (!isUuid(id)) throw new BudgetNotFound(id);
    const entity = await this.budgets.findById(id);
    if (!entity) throw new BudgetNotFound(id);
    return entity;
  }

  /**
   * Budgets with their current period's spent and reserved: three queries however many budgets. In
   * `transaction` (one connection) they are sent one after the other; otherwise side by side.
   */
  private async views(entities: BudgetEntity[], transaction?: EntityManager): Promise<BudgetDto[]> {
    const nowMs = this.clock.nowMs();
    const periods = entities.map((entity) => currentPeriodOf(toDefinition(entity), nowMs));
    const windows = periods.map((period) => period.window);
    const keys = periods.map((period) => period.key);
    const summaries = (manager: EntityManager) => this.periods.summaries(manager, keys);
    const reservedOf = (manager: EntityManager) => this.leases.reservedOf(manager, keys, new Date(nowMs));
    const [rows, reserved] = transaction
      ? [await summaries(transaction), await reservedOf(transaction)]
      : await Promise.all([summaries(this.dataSource.manager), reservedOf(this.dataSource.manager)]);
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
