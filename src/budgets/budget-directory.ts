import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import { Clock, type ScheduledJob } from '../common/clock';
import { SerialReload } from '../common/serial-reload';
import { PostgresListener } from '../database/postgres-listener';
import { picoOf } from '../metrics/cost';
import { type ActiveCanary, ActiveCanaries } from '../policies/active-canaries';
import { BudgetLeases } from './budget-leases';
import type { BudgetDefinition, CanaryArm } from './budget.types';
import { BUDGETS_CHANNEL, BudgetsRepository } from './budgets.repository';
import { budgetName } from './budget.errors';
import type { BudgetEntity } from './entities/budget.entity';

/** A safety net under NOTIFY, and what notices canaries ending: every budget and active canary. */
const FULL_RELOAD_MS = 10_000;

/** A budget that applies to a request; `arm` for a canary's budget (its treatment arm). */
export interface ApplicableBudget {
  budget: BudgetDefinition;
  arm?: CanaryArm;
}

const NONE: readonly ApplicableBudget[] = Object.freeze([]);

/**
 * Every budget in memory, indexed by what it applies to, so finding a request's budgets is three map
 * lookups and never a query. Kept fresh like the key cache: this replica's own changes at once,
 * other replicas' through LISTEN/NOTIFY, and a full reload (with the active canaries) every 10 s.
 */
@Injectable()
export class BudgetDirectory implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(BudgetDirectory.name);
  private byId = new Map<string, BudgetDefinition>();
  private byKey = new Map<string, ApplicableBudget[]>();
  private byPolicy = new Map<string, ApplicableBudget[]>();
  private byArm = new Map<string, ApplicableBudget[]>();
  private arms = new Map<string, CanaryArm>();
  private listening?: { stop: () => void };
  private job?: ScheduledJob;
  private readonly reloads = new SerialReload(
    () => Promise.all([this.repository.findAll(), this.canaries.list()]),
    ([rows, canaries]) => this.index(rows, canaries.map(armOf)),
  );

  constructor(
    private readonly repository: BudgetsRepository,
    private readonly canaries: ActiveCanaries,
    private readonly leases: BudgetLeases,
    private readonly clock: Clock,
    private readonly listener: PostgresListener,
    private readonly access: AccessService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.reloadAll(true);
    this.listening = await this.listener.listen({
      channel: BUDGETS_CHANNEL,
      onNotification: () => void this.reloadAll(),
      onReconnected: () => this.reloadAll(),
    });
    this.job = this.clock.every('budget-directory', FULL_RELOAD_MS, () => this.reloadAll());
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job?.stop();
    this.listening?.stop();
  }

  get size(): number {
    return this.byId.size;
  }

  all(): BudgetDefinition[] {
    return [...this.byId.values()];
  }

  find(id: string): BudgetDefinition | undefined {
    return this.byId.get(id);
  }

  /** How messages and logs name a budget (`budgetName`) as this replica knows its target. */
  nameOf(entity: BudgetEntity): string {
    return budgetName(toDefinition(entity, this.targetName(entity, this.arms)));
  }

  arm(canaryId: string): CanaryArm | undefined {
    return this.arms.get(canaryId);
  }

  /** The budgets of a request: its key's, its policy's, and its canary arm's. The common case allocates nothing. */
  applicable(
    keyId: string,
    policy: string | null,
    flag: string | null,
    variant: string | null,
  ): readonly ApplicableBudget[] {
    if (this.byId.size === 0) return NONE;
    const ofKey = this.byKey.get(keyId);
    const ofPolicy = policy === null ? undefined : this.byPolicy.get(policy);
    const ofArm = flag === null || variant === null ? undefined : this.byArm.get(armKey(flag, variant));
    if (!ofPolicy && !ofArm) return ofKey ?? NONE;
    if (!ofKey && !ofArm) return ofPolicy!;
    return [...(ofKey ?? []), ...(ofPolicy ?? []), ...(ofArm ?? [])];
  }

  /**
   * A change this replica just committed: effective here at once, before its NOTIFY comes back, and
   * the lease resized before the caller answers (a lowered limit holds here when the API says so).
   */
  async changed(id: string): Promise<void> {
    await this.reloadAll(true);
    const budget = this.byId.get(id);
    if (budget) await this.leases.budgetChanged(budget);
  }

  async reloadAll(failHard = false): Promise<void> {
    try {
      await this.reloads.reload();
    } catch (error) {
      if (failHard) throw error;
      this.logger.warn(
        `budget reload failed (${(error as Error).message}); applying the ${this.byId.size} last known budgets`,
      );
    }
  }

  private index(rows: BudgetEntity[], arms: CanaryArm[]): void {
    const byId = new Map<string, BudgetDefinition>();
    const byKey = new Map<string, ApplicableBudget[]>();
    const byPolicy = new Map<string, ApplicableBudget[]>();
    const byArm = new Map<string, ApplicableBudget[]>();
    const armsById = new Map(arms.map((arm) => [arm.canaryId, arm]));
    const add = (map: Map<string, ApplicableBudget[]>, key: string, entry: ApplicableBudget) => {
      const list = map.get(key);
      if (list) list.push(entry);
      else map.set(key, [entry]);
    };
    for (const row of rows) {
      const budget = toDefinition(row, this.targetName(row, armsById));
      byId.set(budget.id, budget);
      if (budget.scope === 'key') add(byKey, budget.target, { budget });
      else if (budget.scope === 'policy') add(byPolicy, budget.target, { budget });
      else {
        // A canary that ended (or never existed any more) has no treatment arm to limit.
        const arm = armsById.get(budget.target);
        if (arm) add(byArm, armKey(arm.flagKey, arm.variant), { budget, arm });
      }
    }
    for (const [id, before] of this.byId) {
      const after = byId.get(id);
      if (!after) this.leases.budgetDeleted(id);
      // Another replica changed the limit: resize the lease now rather than at its next sync.
      else if (after.limitPico !== before.limitPico) void this.leases.budgetChanged(after);
    }
    this.byId = byId;
    this.byKey = byKey;
    this.byPolicy = byPolicy;
    this.byArm = byArm;
    this.arms = armsById;
  }

  /** What people know a budget's target by (a key's name is this replica's cache's, so the id until it has it). */
  private targetName(row: BudgetEntity, arms: Map<string, CanaryArm>): string {
    if (row.scope === 'key') return this.access.findKey(row.target)?.caller.name ?? row.target;
    if (row.scope === 'policy') return row.target;
    const arm = arms.get(row.target);
    return arm ? `${arm.flagKey}/${arm.variant}` : row.target;
  }
}

/** A canary's treatment arm, and the control a shadow_only budget sends its traffic to. */
export function armOf(canary: ActiveCanary): CanaryArm {
  return {
    canaryId: canary.id,
    flagKey: canary.flagKey,
    variant: canary.variant,
    controlVariant: canary.controlVariant,
  };
}

function armKey(flag: string, variant: string): string {
  return `${flag}\u0000${variant}`;
}

/** `targetName`: for messages (BudgetDirectory knows the names); the target itself where nothing is said. */
export function toDefinition(entity: BudgetEntity, targetName = entity.target): BudgetDefinition {
  return {
    id: entity.id,
    scope: entity.scope,
    target: entity.target,
    targetName,
    limitPico: picoOf(entity.limitUsd),
    period: entity.period,
    timezone: entity.timezone,
    onExhausted: entity.onExhausted,
    alertAt: [...entity.alertAt].map(Number).sort((a, b) => a - b),
    createdAt: entity.createdAt,
  };
}
