import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../common/clock';
import { LoggedSecrets, providerKeyValues } from '../common/logging.module';
import { newReplicaName } from '../common/replica-name';
import { type CatalogConfig, CatalogProblems, readCatalogConfig } from '../config/catalog.config';
import { environmentProblemsWith } from '../config/configuration';
import { StartupError } from '../config/startup-error';
import { ConfigurationError, withoutRepeatedPaths } from '../config/validate-config';
import { PostgresListener } from '../database/postgres-listener';
import { catalogChanges } from './catalog-changes';
import { CatalogReloadRefused } from './catalog-reload.errors';
import type { CatalogChangeEntry, ReloadOutcome, ReloadTrigger } from './catalog-reload.types';
import { CATALOG_CHANNEL, CatalogReloadsRepository } from './catalog-reloads.repository';
import { catalogSha256, CatalogService } from './catalog.service';
import type { CatalogReloadDto, CatalogReloadPageDto, CatalogStateDto } from './dto/catalog-reload.dto';
import type { CatalogReloadEntity } from './entities/catalog-reload.entity';

/** A catalog read from where the environment names it, and what this replica makes of it. */
interface CatalogRead {
  candidate?: CatalogConfig;
  outcome: ReloadOutcome;
  sha256: string | null;
  changes: CatalogChangeEntry[];
  problems: string[];
}

/**
 * Catalog changes without a restart. A reload (`POST /api/catalog/reload` or SIGHUP) reads the
 * catalog exactly as start-up does, validates it, and asks every module that derives state from it
 * (CatalogService checks: strategies, flags' models, the simulator); any problem refuses it and the
 * catalog in force stays. Otherwise the reload is recorded with what it changes and a NOTIFY in one
 * transaction — a reload needs the database, so every replica hears of it — and then put in force
 * here. Each other replica, told through LISTEN, reloads its own copy the same way and appends its
 * outcome to the record. Reloads on one replica run one at a time.
 */
@Injectable()
export class CatalogReloader implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(CatalogReloader.name);
  /** Per app, not per process: two apps in one test process are two replicas. */
  readonly instance = newReplicaName();
  private queue: Promise<unknown> = Promise.resolve();
  private listening?: { stop: () => void };
  private loaded: Date;

  constructor(
    private readonly catalog: CatalogService,
    private readonly reloads: CatalogReloadsRepository,
    private readonly secrets: LoggedSecrets,
    private readonly clock: Clock,
    private readonly listener: PostgresListener,
  ) {
    this.loaded = clock.now();
  }

  /** When the catalog in force was put in force (start-up or the last reload that changed it). */
  get loadedAt(): Date {
    return this.loaded;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.listening = await this.listener.listen({
      channel: CATALOG_CHANNEL,
      onNotification: (payload) => this.follow(payload),
      // A reload told while the connection was down never arrives: catch up with the file as it is.
      onReconnected: () => this.serialized(() => this.followReload(undefined)),
    });
    process.on('SIGHUP', this.onHangUp);
  }

  async onModuleDestroy(): Promise<void> {
    process.off('SIGHUP', this.onHangUp);
    this.listening?.stop();
  }

  private readonly onHangUp = () => {
    this.reload('signal:SIGHUP', 'signal').catch((error: unknown) => {
      const problems = error instanceof CatalogReloadRefused ? error.details : [String(error)];
      this.logger.error({ problems }, 'SIGHUP: catalog reload refused; the catalog in force stays');
    });
  };

  /** Reloads here and tells every replica; CatalogReloadRefused (nothing changed) when the catalog is bad. */
  reload(actor: string, trigger: ReloadTrigger): Promise<CatalogReloadDto> {
    return this.serialized(async () => {
      const read = this.read();
      const record = await this.reloads.record(
        {
          at: this.clock.now(),
          actor,
          trigger,
          instance: this.instance,
          source: this.catalog.source,
          outcome: read.outcome,
          sha256: read.sha256,
          changes: read.changes,
          problems: read.problems,
        },
        read.outcome !== 'refused',
      );
      if (read.outcome === 'refused') throw new CatalogReloadRefused(this.catalog.source, read.problems);
      if (read.candidate && read.outcome === 'applied') this.apply(read.candidate);
      this.logger.log(
        { reload: record.id, actor, outcome: read.outcome, changes: read.changes },
        `catalog reload ${read.outcome}`,
      );
      return toReloadDto(record);
    });
  }

  /** Reloads, newest first, with a cursor for the next page. */
  async history(limit: number, before?: number): Promise<CatalogReloadPageDto> {
    // One extra row tells whether there is a next page without a count query.
    const rows = await this.reloads.list(limit + 1, before);
    const page = rows.slice(0, limit);
    return { items: page.map(toReloadDto), nextBefore: rows.length > limit ? Number(page[page.length - 1].id) : null };
  }

  /** The catalog this replica serves now. */
  state(): CatalogStateDto {
    return {
      source: this.catalog.source,
      sha256: this.catalog.sha256,
      loadedAt: this.loaded.toISOString(),
      instance: this.instance,
      providers: this.catalog.listProviders().map((provider) => provider.id),
      models: this.catalog.listModels().map((model) => model.id),
      policies: this.catalog.listPolicies().map((policy) => policy.name),
    };
  }

  private follow(payload: string): void {
    let told: { id?: unknown; instance?: unknown };
    try {
      told = JSON.parse(payload) as typeof told;
    } catch {
      this.logger.warn({ payload }, 'ignored a catalog notification that is not JSON');
      return;
    }
    if (told.instance === this.instance || typeof told.id !== 'string') return;
    void this.serialized(() => this.followReload(told.id as string));
  }

  /** Another replica's reload (`id`), or a catch-up after a lost connection (no id): read, apply, report. */
  private async followReload(id: string | undefined): Promise<void> {
    const read = this.read();
    if (read.candidate && read.outcome === 'applied') this.apply(read.candidate);
    const level = read.outcome === 'refused' ? 'error' : 'log';
    this.logger[level](
      { reload: id, outcome: read.outcome, problems: read.problems },
      `catalog reload ${read.outcome}`,
    );
    if (id === undefined) return;
    const { outcome, sha256, problems } = read;
    const at = this.clock.now().toISOString();
    await this.reloads
      .appendReplica(id, { instance: this.instance, at, outcome, sha256, problems })
      .catch((error: unknown) => this.logger.warn({ err: error, reload: id }, 'could not record this replica'));
  }

  private read(): CatalogRead {
    let candidate: CatalogConfig | undefined;
    let loaderProblems: string[] = [];
    try {
      candidate = (this.catalog.current.reread ?? readCatalogConfig)();
    } catch (error) {
      if (!(error instanceof StartupError)) throw error;
      loaderProblems = error instanceof ConfigurationError ? error.problems : [error.message];
      // Refused by the loader, but with lists the modules' checks can read: their problems come too.
      candidate = error instanceof CatalogProblems ? error.candidate : undefined;
    }
    const problems = candidate
      ? [...environmentProblemsWith(candidate.catalog), ...this.catalog.problemsWith(candidate)]
      : [];
    if (!candidate || loaderProblems.length > 0) {
      return {
        outcome: 'refused',
        sha256: null,
        changes: [],
        problems: withoutRepeatedPaths([loaderProblems, problems]),
      };
    }
    const sha256 = catalogSha256(candidate);
    const outcome = problems.length > 0 ? 'refused' : sha256 === this.catalog.sha256 ? 'unchanged' : 'applied';
    return {
      candidate,
      outcome,
      sha256,
      changes: catalogChanges(this.catalog.current.catalog, candidate.catalog),
      problems,
    };
  }

  private apply(candidate: CatalogConfig): void {
    // Before anything can log with them: a new provider's keys are redacted from the first line on.
    this.secrets.add(providerKeyValues(candidate));
    this.catalog.replace(candidate);
    this.loaded = this.clock.now();
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

export function toReloadDto(row: CatalogReloadEntity): CatalogReloadDto {
  return {
    id: Number(row.id),
    at: row.at.toISOString(),
    actor: row.actor,
    trigger: row.trigger,
    instance: row.instance,
    source: row.source,
    outcome: row.outcome,
    sha256: row.sha256,
    changes: row.changes,
    problems: row.problems,
    replicas: row.replicas,
  };
}
