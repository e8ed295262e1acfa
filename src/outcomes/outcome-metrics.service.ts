import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuthenticatedCaller } from '../access/scopes';
import { Clock } from '../common/clock';
import { QUALITY_SIGNALS, type QualitySignal } from '../metrics/quality-signals';
import type { CreateOutcomeMetricDto, UpdateOutcomeMetricDto } from './dto/outcome-metric-input.dto';
import type { OutcomeMetricHistoryPageDto } from './dto/outcome-metric.dto';
import type { OutcomeMetricEntity } from './entities/outcome-metric.entity';
import { OutcomeMetricHistoryRepository } from './outcome-metric-history.repository';
import {
  OutcomeMetricConflict,
  OutcomeMetricExists,
  OutcomeMetricInUse,
  OutcomeMetricInvalid,
  OutcomeMetricNotFound,
  OutcomeMetricUnverifiable,
} from './outcome.errors';
import { OutcomeMetricsRepository, type OutcomeMetricChanges } from './outcome-metrics.repository';
import { DEFAULT_ATTRIBUTION_WINDOW_SECONDS, type OutcomeMetricView } from './outcome.types';

const BUILT_IN_DESCRIPTIONS: Record<QualitySignal, string> = {
  empty_answer: 'Built in: a 200 answer with no content, no tool call and no refusal',
  truncated: 'Built in: the answer was cut at the token limit (finish_reason "length")',
  invalid_json: 'Built in: the request asked for JSON (response_format) and the content is not JSON',
  json_schema_violation: "Built in: the content's JSON does not fit the request's json_schema",
  malformed_tool_call: 'Built in: a tool call whose arguments are not valid JSON',
  refusal: "Built in: the model refused (OpenAI's refusal field)",
};

const BUILT_INS: ReadonlyMap<string, OutcomeMetricView> = new Map(
  QUALITY_SIGNALS.map((signal) => [
    signal,
    Object.freeze({
      key: signal,
      description: BUILT_IN_DESCRIPTIONS[signal],
      type: 'binary' as const,
      direction: 'lower_is_better' as const,
      unit: 'request' as const,
      attributionWindowSeconds: null,
      builtIn: true,
      version: 0,
      archived: false,
      archivedAt: null,
      createdAt: null,
      updatedAt: null,
    }),
  ]),
);

/**
 * Outcome metric definitions: the built-in answer-quality signals (read-only, listed last) and the
 * metrics operators define (conversions, thumbs-up, ratings). Every change is written with its
 * history row in one transaction; a definition is archived, never deleted, and its key never reused.
 */
/** How long ingestion trusts its copy of the definitions before reading them again. */
const DEFINITIONS_TTL_MS = 5_000;

/** Who judges a metric now, each named for a person (`canary <id> (running)`), read in `manager`'s transaction. */
export type OutcomeMetricUser = (manager: EntityManager, key: string) => Promise<string[]>;

@Injectable()
export class OutcomeMetricsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(OutcomeMetricsService.name);
  private readonly users: OutcomeMetricUser[] = [];
  /** Every definition (built-ins too) as ingestion reads them, and when it was read (Date.now()). */
  private definitions: { byKey: Map<string, OutcomeMetricView>; readAtMs: number } = {
    byKey: new Map(BUILT_INS),
    readAtMs: 0,
  };

  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: OutcomeMetricsRepository,
    private readonly history: OutcomeMetricHistoryRepository,
    private readonly clock: Clock,
  ) {}

  /** Read once at start-up, so a database outage soon after does not leave ingestion without them. */
  async onApplicationBootstrap(): Promise<void> {
    await this.definitionsFor([]).catch(() => undefined);
  }

  /**
   * The definitions ingestion checks events against: from memory, read again when older than a few
   * seconds or when an event names a key not in memory (defined on another replica a moment ago).
   * While the database cannot be read, the copy in memory serves: events keep being accepted. An
   * event naming a key the copy lacks then gets DatabaseUnavailable (503): the metric may have been
   * defined since, and "not an outcome metric" would be a guess.
   */
  async definitionsFor(keys: Iterable<string>): Promise<ReadonlyMap<string, OutcomeMetricView>> {
    const stale = Date.now() - this.definitions.readAtMs > DEFINITIONS_TTL_MS;
    const missing = [...keys].filter((key) => !this.definitions.byKey.has(key));
    if (stale || missing.length > 0) {
      try {
        const rows = await this.metrics.findAll();
        this.definitions = {
          byKey: new Map([...BUILT_INS, ...rows.map((row) => [row.key, viewOf(row)] as const)]),
          readAtMs: Date.now(),
        };
      } catch (error) {
        if (missing.length > 0) throw new OutcomeMetricUnverifiable(missing, error);
        this.logger.warn(
          `outcome metric definitions not re-read (${(error as Error).message}); using the copy in memory`,
        );
      }
    }
    return this.definitions.byKey;
  }

  async list(): Promise<OutcomeMetricView[]> {
    return [...(await this.metrics.findAll()).map(viewOf), ...BUILT_INS.values()];
  }

  /** A built-in or a defined metric (archived ones too); OutcomeMetricNotFound otherwise. */
  async get(key: string): Promise<OutcomeMetricView> {
    const builtIn = BUILT_INS.get(key);
    if (builtIn) return builtIn;
    const entity = await this.metrics.findByKey(key);
    if (!entity) throw new OutcomeMetricNotFound(key);
    return viewOf(entity);
  }

  async create(dto: CreateOutcomeMetricDto, caller: AuthenticatedCaller): Promise<OutcomeMetricView> {
    if (BUILT_INS.has(dto.key))
      throw new OutcomeMetricConflict(`"${dto.key}" is a built-in answer-quality signal: choose another key`);
    const now = this.clock.now();
    const entity = await this.dataSource.transaction(async (manager) => {
      const inserted = await this.metrics.insert(manager, {
        key: dto.key,
        description: dto.description ?? '',
        type: dto.type,
        direction: dto.direction,
        unit: dto.unit,
        attributionWindowSeconds: dto.attributionWindowSeconds ?? DEFAULT_ATTRIBUTION_WINDOW_SECONDS,
        createdBy: caller.actor,
        createdAt: now,
        updatedAt: now,
      });
      if (!inserted) {
        const existing = await this.metrics.findByKey(dto.key);
        throw new OutcomeMetricExists(dto.key, (existing?.archivedAt ?? null) !== null);
      }
      await this.history.append(manager, {
        at: now,
        metricKey: inserted.key,
        version: inserted.version,
        action: 'created',
        before: null,
        after: viewOf(inserted),
        actor: caller.actor,
        reason: dto.reason ?? null,
      });
      return inserted;
    });
    this.definitions.byKey.set(entity.key, viewOf(entity));
    this.logger.log({ metric: entity.key, actor: caller.actor }, 'outcome metric created');
    return viewOf(entity);
  }

  async update(key: string, dto: UpdateOutcomeMetricDto, caller: AuthenticatedCaller): Promise<OutcomeMetricView> {
    return this.change(key, caller, dto.reason ?? null, dto.version, (current) => {
      const problems: string[] = [];
      if (dto.type !== undefined && dto.type !== current.type)
        problems.push(
          `type is fixed at creation (${current.type}): define a new metric for ${String(dto.type)} values`,
        );
      if (dto.unit !== undefined && dto.unit !== current.unit)
        problems.push(
          `unit is fixed at creation (${current.unit}): define a new metric attached to ${String(dto.unit)}`,
        );
      if (problems.length > 0) throw new OutcomeMetricInvalid(problems);
      const changes: OutcomeMetricChanges = { updatedAt: this.clock.now() };
      if (dto.description !== undefined) changes.description = dto.description;
      if (dto.direction !== undefined) changes.direction = dto.direction;
      if (dto.attributionWindowSeconds !== undefined) changes.attributionWindowSeconds = dto.attributionWindowSeconds;
      return { action: 'updated', changes };
    });
  }

  /**
   * While `user` names a user of a metric, it cannot be archived: the canary module registers its
   * active canaries' outcome gates (outcomes does not know canaries).
   */
  registerUser(user: OutcomeMetricUser): void {
    this.users.push(user);
  }

  async archive(key: string, caller: AuthenticatedCaller, reason: string | null): Promise<OutcomeMetricView> {
    return this.change(key, caller, reason, undefined, async (_current, manager) => {
      const users = (await Promise.all(this.users.map((user) => user(manager, key)))).flat();
      if (users.length > 0) throw new OutcomeMetricInUse(key, users);
      const now = this.clock.now();
      return { action: 'archived', changes: { archivedAt: now, updatedAt: now } };
    });
  }

  async historyOf(key: string, limit: number, before?: number): Promise<OutcomeMetricHistoryPageDto> {
    if (BUILT_INS.has(key)) return { items: [], nextBefore: null };
    if (!(await this.metrics.findByKey(key))) throw new OutcomeMetricNotFound(key);
    const rows = await this.history.list(key, limit + 1, before);
    const page = rows.slice(0, limit);
    return {
      items: page.map((row) => ({
        id: Number(row.id),
        metricKey: row.metricKey,
        version: row.version,
        action: row.action,
        before: row.before as unknown as OutcomeMetricView | null,
        after: row.after as unknown as OutcomeMetricView,
        actor: row.actor,
        reason: row.reason,
        at: row.at.toISOString(),
      })),
      nextBefore: rows.length > limit ? Number(page[page.length - 1].id) : null,
    };
  }

  private async change(
    key: string,
    caller: AuthenticatedCaller,
    reason: string | null,
    expectedVersion: number | undefined,
    plan: (
      current: OutcomeMetricEntity,
      manager: EntityManager,
    ) =>
      | { action: 'updated' | 'archived'; changes: OutcomeMetricChanges }
      | Promise<{ action: 'updated' | 'archived'; changes: OutcomeMetricChanges }>,
  ): Promise<OutcomeMetricView> {
    if (BUILT_INS.has(key))
      throw new OutcomeMetricConflict(`"${key}" is a built-in answer-quality signal: it cannot be changed or archived`);
    const updated = await this.dataSource.transaction(async (manager) => {
      const current = await this.metrics.lock(manager, key);
      if (!current) throw new OutcomeMetricNotFound(key);
      if (current.archivedAt)
        throw new OutcomeMetricConflict(`outcome metric "${key}" is archived: it takes no more changes`);
      if (expectedVersion !== undefined && expectedVersion !== current.version)
        throw new OutcomeMetricConflict(
          `outcome metric "${key}" is at version ${current.version}, not ${expectedVersion}: read it again and retry`,
        );
      const { action, changes } = await plan(current, manager);
      const after = await this.metrics.update(manager, key, changes);
      await this.history.append(manager, {
        at: changes.updatedAt,
        metricKey: key,
        version: after.version,
        action,
        before: viewOf(current),
        after: viewOf(after),
        actor: caller.actor,
        reason,
      });
      return after;
    });
    this.definitions.byKey.set(key, viewOf(updated));
    this.logger.log({ metric: key, actor: caller.actor, version: updated.version }, 'outcome metric changed');
    return viewOf(updated);
  }
}

export function viewOf(entity: OutcomeMetricEntity): OutcomeMetricView {
  return {
    key: entity.key,
    description: entity.description,
    type: entity.type,
    direction: entity.direction,
    unit: entity.unit,
    attributionWindowSeconds: entity.attributionWindowSeconds,
    builtIn: false,
    version: entity.version,
    archived: entity.archivedAt !== null,
    archivedAt: entity.archivedAt?.toISOString() ?? null,
    createdAt: entity.createdAt.toISOString(),
    updatedAt: entity.updatedAt.toISOString(),
  };
}
