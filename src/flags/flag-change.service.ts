import { isDeepStrictEqual } from 'node:util';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { CatalogService } from '../catalog/catalog.service';
import { Clock } from '../common/clock';
import type { CreateFlagDto, UpdateFlagDto } from './dto/flag-input.dto';
import type { FlagEntity } from './entities/flag.entity';
import { FlagCache } from './flag-cache';
import { FlagAlreadyExists, FlagChangeRefused, FlagInvalid, FlagNotFound, FlagVersionConflict } from './flag.errors';
import { type HistoryPage, toDefinition, toHistoryEntry, toWire } from './flag-mapper';
import { type FlagView, unusedWarning, viewOf } from './flag-usage';
import { rolloutToBasisPoints, validateFlag } from './flag-validation';
import type { ChangeContext, FlagAction, FlagDefinition } from './flag.types';
import { FlagHistoryRepository } from './flag-history.repository';
import { FlagsRepository, type FlagChanges } from './flags.repository';

/**
 * Says who moves this flag's traffic on its own right now (e.g. "canary 4c7a… (running)"), read in
 * the change's transaction; null when nobody does. Registered by that owner (the canary module at
 * start-up), so flags/ knows nothing of canaries.
 */
export type FlagOwner = (manager: EntityManager, key: string) => Promise<string | null>;

/** What an operator may not change under an owner: who gets which model. A description, kill and enable stay free. */
const OWNED_FIELDS = ['variants', 'defaultVariant', 'rollout', 'rules', 'salt'] as const;

/**
 * Every write to a flag, and the history the writes leave. Each change takes the row's lock, checks
 * the version, writes the new state, its history row and the NOTIFY in one transaction. Other modules
 * (canary, the guardrail) change flags only through this service; reads and evaluation are
 * FlagsService's.
 */
@Injectable()
export class FlagChangeService {
  private readonly logger = new Logger(FlagChangeService.name);
  private readonly owners: FlagOwner[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly flags: FlagsRepository,
    private readonly history: FlagHistoryRepository,
    private readonly cache: FlagCache,
    private readonly catalog: CatalogService,
    private readonly clock: Clock,
  ) {}

  /**
   * While `owner` names an owner of a flag, the operator API cannot change who gets which model
   * (rollout, variants, default, rules, salt) nor archive it: the owner's bookkeeping (a canary's
   * stage and its judged weights) would no longer describe what the flag serves.
   */
  registerOwner(owner: FlagOwner): void {
    this.owners.push(owner);
  }

  /** Created, with a warning when no catalog policy routes by the flag (it serves nothing yet). */
  async create(dto: CreateFlagDto, change: ChangeContext): Promise<FlagView & { warnings?: string[] }> {
    const rules = dto.rules ?? [];
    const {
      errors,
      rollout,
      rules: storedRules,
    } = validateFlag(
      { variants: dto.variants, defaultVariant: dto.defaultVariant, rollout: dto.rollout ?? {}, rules },
      (id) => this.catalog.findModel(id) !== undefined,
    );
    if (errors.length > 0) throw new FlagInvalid(errors);
    const created = await this.dataSource.transaction(async (manager) => {
      const entity = await this.flags.insert(manager, this.clock.now(), {
        key: dto.key,
        description: dto.description ?? '',
        enabled: dto.enabled ?? true,
        variants: dto.variants,
        defaultVariant: dto.defaultVariant,
        rollout,
        rules: storedRules,
        salt: dto.salt ?? dto.key,
      });
      if (!entity) throw new FlagAlreadyExists(dto.key);
      const flag = toDefinition(entity);
      await this.record(manager, 'create', null, flag, change, flag.createdAt);
      return flag;
    });
    this.cache.put(created);
    this.logger.log({ flag: created.key, actor: change.actor, source: change.source }, 'flag created');
    const view = this.view(created);
    return view.unused ? { ...view, warnings: [unusedWarning(view.key, this.catalog.listPolicies())] } : view;
  }

  /** Partial update: the merged flag is validated as a whole (a new variant list must cover the rollout...). */
  update(key: string, dto: UpdateFlagDto, change: ChangeContext): Promise<FlagView> {
    const touched = OWNED_FIELDS.filter((field) => dto[field] !== undefined);
    const guard = touched.length > 0 ? `change ${touched.join(', ')} of` : undefined;
    return this.change(key, dto.version, 'update', { ...change, guard }, (current) => {
      const wire = toWire(current);
      const merged = {
        variants: dto.variants ?? wire.variants,
        defaultVariant: dto.defaultVariant ?? wire.defaultVariant,
        rollout: dto.rollout ?? wire.rollout,
        rules: dto.rules ?? wire.rules,
      };
      const { errors, rollout, rules } = validateFlag(merged, (id) => this.catalog.findModel(id) !== undefined);
      if (errors.length > 0) throw new FlagInvalid(errors);
      const changes = {
        description: dto.description,
        enabled: dto.enabled,
        variants: merged.variants,
        defaultVariant: merged.defaultVariant,
        salt: dto.salt,
        rollout,
        rules,
      };
      // What would change nothing writes nothing: no new version, no history row.
      return changesAnything(current, changes) ? changes : null;
    });
  }

  /**
   * The canary's lever: replaces the flag's rollout (percentages, as on the wire). Without
   * `expectedVersion` it applies to whatever version is current (still serialised by the row lock).
   */
  setRollout(
    key: string,
    rollout: Record<string, number>,
    options: ChangeContext & { expectedVersion?: number },
  ): Promise<FlagView> {
    return this.change(
      key,
      options.expectedVersion,
      'rollout',
      { ...options, guard: 'set the rollout of' },
      (current) => {
        const errors: string[] = [];
        const basisPoints = rolloutToBasisPoints('rollout', rollout, current.variants, errors);
        if (errors.length > 0) throw new FlagInvalid(errors);
        return { rollout: basisPoints };
      },
    );
  }

  /**
   * One variant's weight, the others unchanged: how canaries and the guardrail move traffic. With
   * `manager` the change joins the caller's transaction (a canary's stage and its flag change commit
   * together); the cache then learns of it from the NOTIFY sent at commit. A weight the variant already
   * has changes nothing: no new version, no history row (e.g. a promotion retried after a crash that
   * came between the flag write and the canary's own update). The flag's refusal is FlagChangeRefused.
   */
  setVariantWeight(
    key: string,
    variant: string,
    percentage: number,
    options: ChangeContext & { manager?: EntityManager },
  ): Promise<FlagView> {
    return this.change(
      key,
      undefined,
      'rollout',
      options,
      (current) => {
        if (!Object.hasOwn(current.variants, variant)) throw FlagChangeRefused.unknownVariant(key, variant);
        const errors: string[] = [];
        const others = toWire(current).rollout;
        delete others[variant];
        const rollout = rolloutToBasisPoints('rollout', { ...others, [variant]: percentage }, current.variants, errors);
        if (errors.length > 0) {
          // Say who holds the rest and what to do: the caller (a canary's start) did not set those weights.
          const holders = Object.entries(others)
            .filter(([, share]) => share > 0)
            .map(([name, share]) => `${name} ${share}%`)
            .join(', ');
          throw FlagChangeRefused.badWeights(
            errors.map(
              (problem) =>
                `${variant} at ${percentage}%: ${problem}${holders ? ` (${holders} already)` : ''}; lower the others first (PUT /api/flags/${key}/rollout)`,
            ),
          );
        }
        return sameWeights(rollout, current.rollout) ? null : { rollout };
      },
      options.manager,
    );
  }

  /**
   * A history row that changes nothing (action `note`, the current version, before = after): what a
   * canary did to the flag's story without moving a weight (pause, resume), in the caller's transaction.
   */
  async note(key: string, context: ChangeContext & { manager: EntityManager }): Promise<void> {
    const entity = await this.flags.findForUpdate(context.manager, key);
    if (!entity) throw new FlagNotFound(key);
    const current = toDefinition(entity);
    const snapshot = toWire(current);
    await this.history.append(context.manager, {
      at: this.clock.now(),
      flagKey: key,
      version: current.version,
      action: 'note',
      before: snapshot,
      after: snapshot,
      actor: context.actor,
      source: context.source,
      reason: context.reason ?? null,
    });
  }

  /** A flag already in that state is answered as it is (no new version, no history row). */
  setEnabled(key: string, enabled: boolean, options: ChangeContext & { expectedVersion?: number }): Promise<FlagView> {
    return this.change(key, options.expectedVersion, enabled ? 'enable' : 'kill', options, (current) =>
      current.enabled === enabled ? null : { enabled },
    );
  }

  /** Archived flags leave the cache (no longer served) and refuse further changes; history stays. */
  archive(key: string, options: ChangeContext & { expectedVersion?: number }): Promise<FlagView> {
    return this.change(key, options.expectedVersion, 'archive', { ...options, guard: 'archive' }, () => ({
      archivedAt: this.clock.now(),
    }));
  }

  async historyOf(key: string, limit: number, before?: number): Promise<HistoryPage> {
    if (!(await this.flags.findByKey(key))) throw new FlagNotFound(key);
    // One extra row tells whether there is a next page without a count query.
    const rows = await this.history.list(key, limit + 1, before);
    const page = rows.slice(0, limit);
    return {
      items: page.map(toHistoryEntry),
      nextBefore: rows.length > limit ? Number(page[page.length - 1].id) : null,
    };
  }

  /**
   * One change: lock the row, check the version, compute and write the new state, append history
   * and NOTIFY, all in one transaction. The UPDATE's own `version = $expected` guard makes a lost
   * update impossible even if the lock were ever dropped. `compute` answers null when the change
   * would change nothing: then nothing is written and the current flag is returned.
   */
  private async change(
    key: string,
    expectedVersion: number | undefined,
    action: FlagAction,
    context: ChangeContext & { guard?: string },
    compute: (current: FlagDefinition) => FlagChanges | null,
    outerManager?: EntityManager,
  ): Promise<FlagView> {
    const inTransaction = <T>(work: (manager: EntityManager) => Promise<T>) =>
      outerManager ? work(outerManager) : this.dataSource.transaction(work);
    const { flag: updated, changed } = await inTransaction(async (manager) => {
      const entity = await this.flags.findForUpdate(manager, key);
      if (!entity) throw new FlagNotFound(key);
      const before = toDefinition(entity);
      if (before.archivedAt) throw FlagChangeRefused.archived(key);
      const version = expectedVersion ?? before.version;
      if (version !== before.version) throw new FlagVersionConflict(key, version, before.version);
      if (context.guard && isOperator(context)) {
        for (const owner of this.owners) {
          const name = await owner(manager, key);
          if (name) throw FlagChangeRefused.owned(key, context.guard, name);
        }
      }
      const changes = compute(before);
      if (changes === null) return { flag: before, changed: false };
      const now = this.clock.now();
      const saved = await this.flags.updateIfVersion(manager, key, version, changes, now);
      if (!saved) throw new FlagVersionConflict(key, version, await this.versionOf(manager, key));
      const after = toDefinition(saved as FlagEntity);
      await this.record(manager, action, before, after, context, now);
      return { flag: after, changed: true };
    });
    if (!changed) return this.view(updated);
    // In the caller's transaction the change may still roll back: the NOTIFY at commit updates the cache.
    if (!outerManager) this.cache.put(updated);
    this.logger.log(
      { flag: key, action, version: updated.version, actor: context.actor, source: context.source },
      'flag changed',
    );
    return this.view(updated);
  }

  private async record(
    manager: EntityManager,
    action: FlagAction,
    before: FlagDefinition | null,
    after: FlagDefinition,
    context: ChangeContext,
    at: Date,
  ) {
    await this.history.append(manager, {
      at,
      flagKey: after.key,
      version: after.version,
      action,
      before: before ? toWire(before) : null,
      after: toWire(after),
      actor: context.actor,
      source: context.source,
      reason: context.reason ?? null,
    });
    await this.flags.notifyChanged(manager, after.key);
  }

  /** The flag's version as the caller's transaction sees it (0: no such flag). */
  async versionOf(manager: EntityManager, key: string): Promise<number> {
    const rows: Array<{ version: number }> = await manager.query('SELECT version FROM flags WHERE key = $1', [key]);
    return rows[0]?.version ?? 0;
  }

  private view(flag: FlagDefinition): FlagView {
    return viewOf(flag, this.catalog.listPolicies());
  }
}

/** Weights in basis points, compared variant by variant (a missing variant weighs 0). */
function changesAnything(
  current: FlagDefinition,
  changes: Pick<FlagDefinition, 'variants' | 'defaultVariant' | 'rollout' | 'rules'> &
    Partial<Pick<FlagDefinition, 'description' | 'enabled' | 'salt'>>,
): boolean {
  return (
    (changes.description !== undefined && changes.description !== current.description) ||
    (changes.enabled !== undefined && changes.enabled !== current.enabled) ||
    (changes.salt !== undefined && changes.salt !== current.salt) ||
    changes.defaultVariant !== current.defaultVariant ||
    !sameWeights(changes.rollout, current.rollout) ||
    // Key order aside (jsonb stores keys in an order of its own).
    !isDeepStrictEqual(changes.variants, current.variants) ||
    !isDeepStrictEqual(changes.rules, current.rules)
  );
}

function sameWeights(a: Record<string, number>, b: Record<string, number>): boolean {
  const variants = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...variants].every((variant) => (a[variant] ?? 0) === (b[variant] ?? 0));
}

/** A person through the API, not the canary or the guardrail that move weights themselves. */
function isOperator(context: ChangeContext): boolean {
  return context.source === 'api';
}
