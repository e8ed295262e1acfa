import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { BudgetAction } from '../budgets/budget.types';
import { Clock } from '../common/clock';
import { isUuid } from '../common/uuid-param';
import { canaryConfig, type CanaryConfig } from '../config/canary.config';
import { FlagsService } from '../flags/flags.service';
import { OutcomeMetricsService } from '../outcomes/outcome-metrics.service';
import { FlagChangeService } from '../flags/flag-change.service';
import { FlagChangeRefused } from '../flags/flag.errors';
import { GuardrailExemptions } from '../flags/guardrail-exemptions';
import { ActiveCanaries } from '../policies/active-canaries';
import { type CanaryListFilter, CanariesRepository } from './canaries.repository';
import { budgetPause, type CanaryAction, manualChange } from './canary-actions';
import { CanaryEventsRepository } from './canary-events.repository';
import { describeShadow, describeStages } from './canary-plan';
import { CanaryTransitions } from './canary-transitions';
import { toView } from './canary-view';
import { checkPlan } from './canary-validation';
import {
  ActiveCanaryExists,
  CanaryBudgetExhausted,
  CanaryFlagArchived,
  CanaryNotFound,
  UnknownCanaryCursor,
} from './canary.errors';
import type { CanaryPhase } from './canary.types';
import type { CreateCanaryDto } from './dto/canary-input.dto';
import type { CanaryDto, CanaryEventPageDto, CanaryPageDto, ShadowPairDto } from './dto/canary.dto';
import { ShadowPairs } from '../shadow/shadow-pairs.service';
import { BudgetCanaries } from '../budgets/budget-canaries';
import { shadowPairView } from './shadow-pair-view';
import type { CanaryEntity } from './entities/canary.entity';

/**
 * Canary plans and the manual actions of their state machine. Every change goes through
 * CanaryTransitions inside a transaction; the scheduled judging is CanaryExecutor's.
 */
@Injectable()
export class CanaryService implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly canaries: CanariesRepository,
    private readonly eventLog: CanaryEventsRepository,
    private readonly transitions: CanaryTransitions,
    private readonly flags: FlagsService,
    private readonly flagChanges: FlagChangeService,
    private readonly outcomes: OutcomeMetricsService,
    private readonly exemptions: GuardrailExemptions,
    private readonly activeCanaries: ActiveCanaries,
    private readonly shadowPairs: ShadowPairs,
    private readonly budgets: BudgetCanaries,
    private readonly clock: Clock,
    @Inject(canaryConfig.KEY) private readonly config: CanaryConfig,
  ) {}

  /** A flag with an active canary is the canary's to judge: the guardrail keeps off it. The policy map shows it. */
  onModuleInit(): void {
    this.exemptions.register(() => this.canaries.activeFlagKeys());
    // Only while it runs: a paused canary hands the flag back to people, and its resume puts the stage's weight back.
    this.flagChanges.registerOwner(async (manager, key) => {
      const running = await this.canaries.runningOn(manager, key);
      return running ? `canary ${running.id} (running)` : null;
    });
    // An outcome gate's metric archived would take no more events while the canary judges it.
    this.outcomes.registerUser(async (manager, key) =>
      (await this.canaries.gatingOn(manager, key)).map((canary) => `canary ${canary.id} (${canary.state})`),
    );
    this.activeCanaries.provide(async () =>
      (await this.views(await this.canaries.active())).map((canary) => ({
        ...canary,
        shadowStartedAt: canary.shadowStage?.startedAt ?? null,
      })),
    );
  }

  async create(dto: CreateCanaryDto, actor: string): Promise<CanaryDto> {
    const { stages, analysis, flag, shadow } = await checkPlan(dto, this.flags, this.outcomes);
    this.flags.assertUsedByPolicy(flag.key);

    const id = randomUUID();
    await this.dataSource.transaction(async (manager) => {
      const active = await this.canaries.findActiveForUpdate(manager, dto.flagKey);
      if (active) throw new ActiveCanaryExists(dto.flagKey, active);
      const now = this.clock.now();
      const phase: CanaryPhase = shadow ? 'shadow' : 'live';
      const inserted = await this.canaries.insert(manager, {
        id,
        flagKey: dto.flagKey,
        variant: dto.variant,
        controlVariant: flag.defaultVariant,
        stages,
        analysis,
        shadow,
        phase,
        maxStageExtensions: dto.maxStageExtensions ?? this.config.maxStageExtensions,
        alertWebhookUrl: dto.alertWebhookUrl ?? null,
        state: 'pending',
        stageIndex: 0,
        createdBy: actor,
        createdAt: now,
        updatedAt: now,
      });
      // The partial unique index: another replica created one for this flag at the same moment.
      if (!inserted) throw new ActiveCanaryExists(dto.flagKey);
      const event = {
        type: 'created',
        message: `created by ${actor}: ${shadow ? `${describeShadow(shadow)} -> ` : ''}${describeStages(stages)}`,
        evidence: { stages, analysis, shadow },
      } as const;
      await this.transitions.appendEvent(manager, { id, state: 'pending', stageIndex: 0, phase }, event, actor, now);
      // Started in the same transaction: a start the flag refuses leaves no pending canary behind.
      if (dto.start ?? true) await this.applyAction(manager, id, 'start', actor);
    });
    return this.get(id);
  }

  async list(filter: CanaryListFilter, limit: number, before?: string): Promise<CanaryPageDto> {
    if (before !== undefined && !(await this.canaries.exists(before))) throw new UnknownCanaryCursor(before);
    // One extra row tells whether there is a next page without a count query.
    const rows = await this.canaries.page(filter, limit + 1, before);
    const page = rows.slice(0, limit);
    return { items: await this.views(page), nextBefore: rows.length > limit ? page[page.length - 1].id : null };
  }

  private async views(canaries: CanaryEntity[]): Promise<CanaryDto[]> {
    const now = this.clock.now();
    const running = canaries.filter((canary) => canary.state === 'running').map((canary) => canary.id);
    const failures = await this.canaries.tickFailures(running);
    return canaries.map((canary) => toView(canary, now, this.config.tickMs, failures.get(canary.id)));
  }

  async get(id: string): Promise<CanaryDto> {
    const canary = await this.find(this.dataSource.manager, id);
    const failures = await this.canaries.tickFailures(canary.state === 'running' ? [id] : []);
    return toView(canary, this.clock.now(), this.config.tickMs, failures.get(id));
  }

  async events(id: string, limit: number, after = 0, quietEvery?: number): Promise<CanaryEventPageDto> {
    await this.find(this.dataSource.manager, id);
    const rows = await this.eventLog.page(id, limit, after, quietEvery);
    const page = rows.slice(0, limit);
    return {
      items: page.map((row) => ({
        id: Number(row.id),
        at: row.at.toISOString(),
        type: row.type,
        state: row.state,
        // Only the shadow stage's events have no stage (CanaryTransitions.appendEvent).
        phase: row.stage === null ? 'shadow' : 'live',
        stage: row.stage,
        message: row.message,
        evidence: row.evidence,
        actor: row.actor,
        instance: row.instance,
      })),
      nextAfter: rows.length > limit ? Number(page[page.length - 1].id) : null,
    };
  }

  /** The canary's shadow pairs, newest first (only the disagreeing ones when asked). */
  async shadowPairList(id: string, disagree: boolean, limit: number): Promise<ShadowPairDto[]> {
    await this.find(this.dataSource.manager, id);
    return (await this.shadowPairs.list(id, disagree, limit)).map(shadowPairView);
  }

  /** A manual action; CanaryStateConflict (409, naming the current state) when it does not apply to it. */
  async act(id: string, action: CanaryAction, actor: string, reason?: string): Promise<CanaryDto> {
    await this.dataSource.transaction((manager) => this.applyAction(manager, id, action, actor, reason));
    return this.get(id);
  }

  /** A canary's shadow_only budget ran out: paused, its treatment at 0% (CanaryStateConflict when not running). */
  async pauseForBudget(id: string, budgetId: string, action: BudgetAction, reason: string): Promise<void> {
    const actor = `budget:${budgetId}`;
    await this.dataSource.transaction(async (manager) => {
      const canary = await this.find(manager, id, true);
      const change = budgetPause(canary, actor, reason, randomUUID(), action);
      await this.transitions.apply(manager, canary, change, actor, this.clock.now());
    });
  }

  private async applyAction(
    manager: EntityManager,
    id: string,
    action: CanaryAction,
    actor: string,
    reason?: string,
  ): Promise<void> {
    const canary = await this.find(manager, id, true);
    const change = manualChange(canary, action, actor, reason, randomUUID());
    if (action === 'resume') {
      // A budget that is used up would send the treatment's requests elsewhere: the stage would wait on nothing.
      const usedUp = await this.budgets.usedUp(id);
      if (usedUp) throw new CanaryBudgetExhausted(id, usedUp.budgetId, usedUp.why);
    }
    try {
      await this.transitions.apply(manager, canary, change, actor, this.clock.now());
    } catch (error) {
      // The flag's own refusal says only that it is archived: the person also needs the way out.
      if (error instanceof FlagChangeRefused && error.code === 'flag_archived')
        throw new CanaryFlagArchived(id, canary.flagKey, action);
      throw error;
    }
  }

  private async find(manager: EntityManager, id: string, forUpdate = false): Promise<CanaryEntity> {
    // The controller refuses a malformed id (400); this keeps one from any other caller away from Postgres.
    if (!isUuid(id)) throw new CanaryNotFound(id);
    const canary = await this.canaries.find(manager, id, forUpdate);
    if (!canary) throw new CanaryNotFound(id);
    return canary;
  }
}
