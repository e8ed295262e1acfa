import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BadRequestException, ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { resolveCanaryAnalysis } from '@switchyard/stats';
import { DataSource, type EntityManager } from 'typeorm';
import { AlertsService } from '../alerts/alerts.service';
import type { AlertType } from '../alerts/alert.types';
import { canaryConfig, type CanaryConfig } from '../config/canary.config';
import { FlagNotFound } from '../flags/flag.errors';
import { FlagsService } from '../flags/flags.service';
import {
  ACTIVE_STATES,
  type CanaryEventType,
  type CanaryStage,
  type CanaryState,
  DEFAULT_STAGES,
} from './canary.types';
import type { CreateCanaryDto } from './dto/canary-input.dto';
import type { CanaryDto, CanaryEventPageDto } from './dto/canary.dto';
import { CanaryEventEntity } from './entities/canary-event.entity';
import { CanaryEntity } from './entities/canary.entity';

export type CanaryAction = 'start' | 'pause' | 'resume' | 'promote' | 'abort' | 'rollback';

/** Which states each manual action leaves from, and where it goes. */
const ACTIONS: Record<CanaryAction, { from: readonly CanaryState[]; to: CanaryState }> = {
  start: { from: ['pending'], to: 'running' },
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  promote: { from: ['pending', 'running', 'paused'], to: 'promoted' },
  abort: { from: ['pending', 'running', 'paused'], to: 'aborted' },
  rollback: { from: ['running', 'paused'], to: 'rolled_back' },
};

const ALERT_OF_STATE: Partial<Record<CanaryState, AlertType>> = {
  running: 'canary.started',
  paused: 'canary.paused',
  promoted: 'canary.promoted',
  rolled_back: 'canary.rolled_back',
  aborted: 'canary.aborted',
};

/** One change of a canary, applied in one transaction: its row, the flag's weight, the event and the alert. */
export interface CanaryChange {
  state?: CanaryState;
  /** Move to this stage (it starts now). */
  stageIndex?: number;
  /** Restart the current stage's window (resume after a pause). */
  restartStage?: boolean;
  /** The treatment's weight to set on the flag (percent). */
  weight?: number;
  failedChecks?: number;
  event: { type: CanaryEventType; message: string; evidence?: Record<string, unknown> | null };
  /** Raised in the same transaction; deduplicated by its key so a retried tick never sends it twice. */
  alert?: { type: AlertType; message: string; dedupKey: string; evidence?: Record<string, unknown> };
}

/** The replica's name in canary events. */
export const INSTANCE_ID = `${hostname()}:${process.pid}:${randomUUID().slice(0, 6)}`;

/**
 * Canary plans and their state machine. Every change — manual or from the executor — goes through
 * `applyChange` inside a transaction that also moves the flag's weight (through FlagsService, so
 * it lands in flag_history with source `canary`), appends the event and raises the alert: either
 * all of it happened or none of it.
 */
@Injectable()
export class CanaryService {
  private readonly logger = new Logger(CanaryService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly flags: FlagsService,
    private readonly alerts: AlertsService,
    @Inject(canaryConfig.KEY) private readonly config: CanaryConfig,
  ) {}

  async create(dto: CreateCanaryDto, actor: string): Promise<CanaryDto> {
    const stages = dto.stages ?? DEFAULT_STAGES.map((stage) => ({ ...stage }));
    const { analysis, problems } = resolveCanaryAnalysis(dto.analysis as Parameters<typeof resolveCanaryAnalysis>[0]);
    const errors = [...stageProblems(stages), ...problems.map((problem) => `analysis.${problem}`)];
    const flag = await this.flags.get(dto.flagKey).catch((error: unknown) => {
      if (error instanceof FlagNotFound) errors.push(`flagKey: flag "${dto.flagKey}" does not exist`);
      else throw error;
      return undefined;
    });
    if (flag?.archivedAt) errors.push(`flagKey: flag "${dto.flagKey}" is archived`);
    if (flag && !(dto.variant in flag.variants)) {
      errors.push(
        `variant: flag "${dto.flagKey}" has no variant "${dto.variant}" (variants: ${Object.keys(flag.variants).join(', ')})`,
      );
    }
    if (flag && dto.variant === flag.defaultVariant) {
      errors.push(`variant: "${dto.variant}" is the flag's default variant, the control; roll out another variant`);
    }
    if (errors.length > 0 || !flag) throw new BadRequestException(errors);

    const id = randomUUID();
    await this.dataSource.transaction(async (manager) => {
      const active = await manager.query(
        `SELECT id, state FROM canaries WHERE flag_key = $1 AND state = ANY($2) FOR UPDATE`,
        [dto.flagKey, ACTIVE_STATES],
      );
      if (active.length > 0) throw activeConflict(dto.flagKey, active[0]);
      await manager
        .insert(CanaryEntity, {
          id,
          flagKey: dto.flagKey,
          variant: dto.variant,
          controlVariant: flag.defaultVariant,
          stages,
          analysis,
          maxStageExtensions: dto.maxStageExtensions ?? this.config.maxStageExtensions,
          alertWebhookUrl: dto.alertWebhookUrl ?? null,
          state: 'pending',
          stageIndex: 0,
          createdBy: actor,
        })
        .catch((error: { code?: string }) => {
          // The partial unique index: another replica created one for this flag at the same moment.
          if (error.code === '23505') throw activeConflict(dto.flagKey);
          throw error;
        });
      await this.appendEvent(
        manager,
        { id, state: 'pending', stageIndex: 0 },
        'created',
        `created by ${actor}: ${describeStages(stages)}`,
        { stages, analysis },
        actor,
      );
    });
    if (dto.start ?? true) return this.act(id, 'start', actor);
    return this.get(id);
  }

  async list(filter: { state?: CanaryState; flagKey?: string }): Promise<CanaryDto[]> {
    const rows = await this.dataSource.getRepository(CanaryEntity).find({
      where: {
        ...(filter.state ? { state: filter.state } : {}),
        ...(filter.flagKey ? { flagKey: filter.flagKey } : {}),
      },
      order: { createdAt: 'DESC' },
    });
    return rows.map(toView);
  }

  async get(id: string): Promise<CanaryDto> {
    return toView(await this.find(this.dataSource.manager, id));
  }

  async events(id: string, limit: number, after = 0): Promise<CanaryEventPageDto> {
    await this.find(this.dataSource.manager, id);
    const rows = await this.dataSource
      .getRepository(CanaryEventEntity)
      .createQueryBuilder('event')
      .where('event.canary_id = :id AND event.id > :after', { id, after })
      .orderBy('event.id', 'ASC')
      .limit(limit + 1)
      .getMany();
    const page = rows.slice(0, limit);
    return {
      items: page.map((row) => ({
        id: Number(row.id),
        at: row.at.toISOString(),
        type: row.type,
        state: row.state,
        stage: row.stage,
        message: row.message,
        evidence: row.evidence,
        actor: row.actor,
        instance: row.instance,
      })),
      nextAfter: rows.length > limit ? Number(page[page.length - 1].id) : null,
    };
  }

  /** A manual action; 409 naming the current state when the action does not apply to it. */
  async act(id: string, action: CanaryAction, actor: string, reason?: string): Promise<CanaryDto> {
    const { from, to } = ACTIONS[action];
    await this.dataSource.transaction(async (manager) => {
      const canary = await this.find(manager, id, true);
      if (!from.includes(canary.state)) {
        throw new ConflictException(
          `canary ${id} is ${canary.state}; ${action} applies only to a canary that is ${from.join(' or ')}`,
        );
      }
      const why = reason ? `: ${reason}` : '';
      const stage = canary.stages[canary.stageIndex];
      const change: CanaryChange = {
        state: to,
        event: { type: eventTypeOf(action), message: `${action} by ${actor}${why}` },
      };
      if (action === 'start') {
        change.stageIndex = 0;
        change.weight = canary.stages[0].percentage;
        change.event.message = `started by ${actor}${why}: stage 1 of ${canary.stages.length} at ${canary.stages[0].percentage}%`;
      } else if (action === 'resume') {
        change.restartStage = true;
        change.event.message = `resumed by ${actor}${why}: stage ${canary.stageIndex + 1} (${stage.percentage}%) gets a fresh window`;
      } else if (action === 'promote') {
        change.weight = 100;
        change.event.message = `promoted by ${actor}${why}: treatment at 100%`;
      } else if (action === 'abort' || action === 'rollback') {
        change.weight = canary.state === 'pending' ? undefined : 0;
        change.event.message = `${action === 'abort' ? 'aborted' : 'rolled back'} by ${actor}${why}: treatment at 0%`;
      }
      const alertType = ALERT_OF_STATE[to];
      if (alertType)
        change.alert = {
          type: alertType,
          message: `canary ${id} on ${canary.flagKey}: ${change.event.message}`,
          dedupKey: `canary:${id}:${action}:${canary.stageIndex}:${Date.now()}`,
        };
      await this.applyChange(manager, canary, change, actor);
    });
    return this.get(id);
  }

  /** Reads a canary, optionally row-locked for a change. */
  async find(manager: EntityManager, id: string, forUpdate = false): Promise<CanaryEntity> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundException(`canary "${id}" does not exist (ids are UUIDs)`);
    const query = manager.getRepository(CanaryEntity).createQueryBuilder('canary').where('canary.id = :id', { id });
    if (forUpdate) query.setLock('pessimistic_write');
    const canary = await query.getOne();
    if (!canary) throw new NotFoundException(`canary "${id}" does not exist`);
    return canary;
  }

  async applyChange(
    manager: EntityManager,
    canary: CanaryEntity,
    change: CanaryChange,
    actor: string,
  ): Promise<CanaryEntity> {
    const now = new Date();
    const stageIndex = change.stageIndex ?? canary.stageIndex;
    if (change.weight !== undefined) {
      await this.flags.setVariantWeight(canary.flagKey, canary.variant, change.weight, {
        actor,
        source: 'canary',
        reason: `canary ${canary.id} stage ${stageIndex + 1}/${canary.stages.length}: ${change.event.message}`,
        manager,
      });
    }
    const state = change.state ?? canary.state;
    const startsStage = change.stageIndex !== undefined || change.restartStage === true;
    await manager.update(
      CanaryEntity,
      { id: canary.id },
      {
        state,
        stageIndex,
        ...(startsStage ? { stageStartedAt: now, failedChecks: 0 } : {}),
        ...(change.failedChecks !== undefined ? { failedChecks: change.failedChecks } : {}),
        updatedAt: now,
        ...(ACTIVE_STATES.includes(state) ? {} : { endedAt: now }),
      },
    );
    await this.appendEvent(
      manager,
      { id: canary.id, state, stageIndex },
      change.event.type,
      change.event.message,
      change.event.evidence ?? null,
      actor,
    );
    if (change.alert) await this.raiseAlert(manager, { ...canary, state, stageIndex }, change.alert);
    this.logger.log(
      { canary: canary.id, flag: canary.flagKey, event: change.event.type, state, stage: stageIndex + 1 },
      change.event.message,
    );
    return { ...canary, state, stageIndex };
  }

  /** A canary alert in the caller's transaction; false when its dedup key was raised before. */
  async raiseAlert(
    manager: EntityManager,
    canary: CanaryEntity,
    alert: NonNullable<CanaryChange['alert']>,
  ): Promise<boolean> {
    const stage = canary.stages[canary.stageIndex];
    const result = await this.alerts.raise(
      {
        type: alert.type,
        dedupKey: alert.dedupKey,
        message: alert.message,
        flag: canary.flagKey,
        canaryId: canary.id,
        stage: canary.stageIndex + 1,
        evidence: {
          state: canary.state,
          stage: { index: canary.stageIndex, percentage: stage.percentage },
          ...(alert.evidence ?? {}),
        },
        targetUrl: canary.alertWebhookUrl,
      },
      manager,
    );
    return result.created;
  }

  async appendEvent(
    manager: EntityManager,
    canary: { id: string; state: CanaryState; stageIndex: number },
    type: CanaryEventType,
    message: string,
    evidence: Record<string, unknown> | null,
    actor: string,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO canary_events (canary_id, type, state, stage, message, evidence, actor, instance) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        canary.id,
        type,
        canary.state,
        canary.stageIndex,
        message,
        evidence === null ? null : JSON.stringify(evidence),
        actor,
        INSTANCE_ID,
      ],
    );
  }
}

function eventTypeOf(action: CanaryAction): CanaryEventType {
  const types: Record<CanaryAction, CanaryEventType> = {
    start: 'started',
    pause: 'paused',
    resume: 'resumed',
    promote: 'promoted',
    abort: 'aborted',
    rollback: 'rolled_back',
  };
  return types[action];
}

function stageProblems(stages: CanaryStage[]): string[] {
  const problems: string[] = [];
  stages.forEach((stage, index) => {
    if (index > 0 && stage.percentage <= stages[index - 1].percentage) {
      problems.push(
        `stages[${index}].percentage: ${stage.percentage} must be above the previous stage's ${stages[index - 1].percentage} (percentages must rise)`,
      );
    }
    if (index < stages.length - 1 && stage.durationSeconds < 1) {
      problems.push(`stages[${index}].durationSeconds: only the final stage may last 0 seconds`);
    }
  });
  const last = stages[stages.length - 1];
  if (last && last.percentage !== 100)
    problems.push(
      `stages[${stages.length - 1}].percentage: the final stage must be 100 (the rollout ends with everyone on the treatment)`,
    );
  return problems;
}

function describeStages(stages: CanaryStage[]): string {
  return stages
    .map((stage) => `${stage.percentage}%${stage.durationSeconds > 0 ? ` ${stage.durationSeconds}s` : ''}`)
    .join(' -> ');
}

function activeConflict(flagKey: string, active?: { id: string; state: string }): ConflictException {
  const which = active ? ` (canary ${active.id}, ${active.state})` : '';
  return new ConflictException(`flag "${flagKey}" already has an active canary${which}; abort or finish it first`);
}

export function toView(canary: CanaryEntity): CanaryDto {
  const stage = canary.stages[canary.stageIndex];
  return {
    id: canary.id,
    flagKey: canary.flagKey,
    variant: canary.variant,
    controlVariant: canary.controlVariant,
    state: canary.state,
    stages: canary.stages,
    stage: canary.stageStartedAt
      ? {
          index: canary.stageIndex,
          percentage: stage.percentage,
          durationSeconds: stage.durationSeconds,
          startedAt: canary.stageStartedAt.toISOString(),
          elapsedSeconds: ((canary.endedAt ?? new Date()).getTime() - canary.stageStartedAt.getTime()) / 1000,
        }
      : null,
    analysis: canary.analysis as unknown as Record<string, unknown>,
    maxStageExtensions: canary.maxStageExtensions,
    alertWebhookOrigin: canary.alertWebhookUrl ? new URL(canary.alertWebhookUrl).origin : null,
    failedChecks: canary.failedChecks,
    lastVerdict: canary.lastVerdict as unknown as Record<string, unknown> | null,
    createdBy: canary.createdBy,
    createdAt: canary.createdAt.toISOString(),
    updatedAt: canary.updatedAt.toISOString(),
    endedAt: canary.endedAt?.toISOString() ?? null,
  };
}
