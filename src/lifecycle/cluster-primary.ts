import cluster, { type Worker } from 'node:cluster';
import type { Logger as Pino } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { AppConfig } from '../config/app.config';
import { catalogConfig } from '../config/catalog.config';
import type { DatabaseConfig } from '../config/database.config';
import { EmbeddedPostgresServer } from '../database/embedded-postgres';
import { createSimulator } from '../simulator/simulator-host';
import { isMetricsRequest, isReady, metricsAnswer } from './workers';

/** A worker that dies this soon after the previous replacement is not replaced again: something is wrong. */
const MIN_REPLACEMENT_INTERVAL_MS = 5_000;

export interface PrimaryOptions {
  app: AppConfig;
  database: DatabaseConfig;
  logger: Pino;
  /** Called once every worker serves requests, with the port they share. */
  onReady: (port: number) => void;
}

/**
 * WORKERS > 1: this process serves no request itself. It starts what must exist once — the embedded
 * Postgres (unless DATABASE_URL is set) and the catalog's simulated provider — then forks WORKERS
 * gateway processes that share its port (Node's cluster module hands them the connections in turn).
 * Each worker is a full replica: flags, keys, limits, canaries and budgets already agree across
 * replicas through Postgres (LISTEN/NOTIFY, shared usage windows, advisory locks).
 *
 * Ctrl-C reaches every process of the terminal's process group; SIGINT/SIGTERM sent to the primary
 * alone is passed on to the workers. Each worker drains as a single process does (requests in
 * flight, then its metric rows and usage counts); the primary waits for all of them, then stops the
 * simulator and, last, the embedded Postgres. A worker that dies while serving is replaced.
 */
export class ClusterPrimary {
  private readonly aggregator = new AggregatorRegistry();
  private embedded?: EmbeddedPostgresServer;
  private simulator?: { stop(): Promise<void> };
  private stopping = false;
  private lastReplacementAt = 0;
  private failedWorkers = 0;

  constructor(private readonly options: PrimaryOptions) {}

  async start(): Promise<void> {
    const { app, database, logger } = this.options;
    let databaseUrl = database.url;
    if (!databaseUrl) {
      this.embedded = new EmbeddedPostgresServer({
        dataDir: database.dataDir,
        port: database.embeddedPort,
        log: (message) => logger.debug({ context: 'Workers' }, message),
        warn: (message) => logger.warn({ context: 'Workers' }, message),
      });
      databaseUrl = await this.embedded.start();
      logger.info({ context: 'Workers' }, `embedded Postgres running on 127.0.0.1:${database.embeddedPort}`);
    }
    try {
      await this.startSimulator();
      cluster.on('message', (worker, message) => this.answerMetricsRequest(worker, message));
      const ports = await Promise.all(
        Array.from({ length: app.workers }, () => this.forkUntilReady({ DATABASE_URL: databaseUrl })),
      );
      logger.info({ context: 'Workers' }, `${app.workers} gateway workers serving port ${ports[0]}`);
      cluster.on('exit', (worker, code, signal) => this.replaceIfLost(worker, code, signal, databaseUrl));
      this.options.onReady(ports[0]);
    } catch (error) {
      await this.stopWorkers(app.shutdownTimeoutMs);
      await this.stopShared();
      throw error;
    }
  }

  /**
   * SIGHUP to the primary (its pid is the one in switchyard.pid): a catalog reload, asked of one
   * worker, whose reload reaches the others through Postgres as POST /api/catalog/reload's does.
   */
  passHangUp(): void {
    const worker = Object.values(cluster.workers ?? {}).find((one) => one?.isConnected());
    if (!worker) return this.options.logger.warn({ context: 'Workers' }, 'SIGHUP: no worker to reload the catalog');
    this.options.logger.info({ context: 'Workers' }, `SIGHUP: catalog reload asked of worker ${worker.process.pid}`);
    worker.process.kill('SIGHUP');
  }

  /**
   * Passes the signal on to every worker (a terminal's Ctrl-C has reached them already; a repeated
   * signal changes nothing for them), waits until all have exited, then stops what they shared.
   * Resolves to the exit code: 0 when every worker drained cleanly.
   */
  async stop(signal: NodeJS.Signals): Promise<number> {
    if (this.stopping) return 0;
    this.stopping = true;
    this.options.logger.info({ context: 'Workers' }, `${signal}: stopping ${this.alive().length} workers`);
    for (const worker of this.alive()) worker.process.kill(signal);
    const exitCodes = await this.stopWorkers(this.options.app.shutdownTimeoutMs);
    await this.stopShared();
    const unclean = exitCodes.filter((code) => code !== 0).length + this.failedWorkers;
    this.options.logger.info({ context: 'Workers' }, `stopped; ${unclean} workers did not stop cleanly`);
    return unclean === 0 ? 0 : 1;
  }

  private alive(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => !!worker && !worker.isDead());
  }

  /** With the start-up catalog: a catalog reload reaches the workers, not this simulator (restart for that). */
  private async startSimulator(): Promise<void> {
    const catalog = catalogConfig();
    const section = catalog.catalog.simulator;
    if (!section) return;
    const simulator = createSimulator(catalog, section.port);
    await simulator.start();
    this.simulator = simulator;
    this.options.logger.info({ context: 'Workers' }, `simulated provider listening on ${simulator.url}`);
  }

  /** Forks one worker; resolves with its port once it serves, rejects if it exits before. */
  private forkUntilReady(env: Record<string, string>): Promise<number> {
    const worker = cluster.fork(env);
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (!isReady(message)) return;
        worker.off('exit', onExit);
        worker.off('message', onMessage);
        resolve(message.port);
      };
      const onExit = (code: number | null, signal: string | null) => {
        worker.off('message', onMessage);
        reject(new WorkerStartFailed(`a gateway worker exited during start-up (code ${code}, signal ${signal})`));
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  }

  private replaceIfLost(worker: Worker, code: number | null, signal: string | null, databaseUrl: string): void {
    if (this.stopping || worker.exitedAfterDisconnect) return;
    this.failedWorkers++;
    const { logger } = this.options;
    logger.error({ context: 'Workers' }, `gateway worker ${worker.process.pid} died (code ${code}, signal ${signal})`);
    const now = Date.now();
    if (now - this.lastReplacementAt < MIN_REPLACEMENT_INTERVAL_MS) {
      logger.error({ context: 'Workers' }, 'workers keep dying; not replacing this one');
      return;
    }
    this.lastReplacementAt = now;
    this.forkUntilReady({ DATABASE_URL: databaseUrl }).then(
      () => logger.info({ context: 'Workers' }, 'a replacement worker serves requests'),
      (error: Error) => logger.error({ context: 'Workers' }, `the replacement worker failed: ${error.message}`),
    );
  }

  private answerMetricsRequest(worker: Worker, message: unknown): void {
    if (!isMetricsRequest(message)) return;
    this.aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send(metricsAnswer(message.id, { text })),
      (error: Error) => worker.isConnected() && worker.send(metricsAnswer(message.id, { error: error.message })),
    );
  }

  /** Resolves with each worker's exit code once all have exited, or after `timeoutMs` (the rest are killed). */
  private async stopWorkers(timeoutMs: number): Promise<Array<number | null>> {
    const workers = this.alive();
    const exits = workers.map(
      (worker) => new Promise<number | null>((resolve) => worker.once('exit', (code: number | null) => resolve(code))),
    );
    const timer = setTimeout(() => {
      for (const worker of this.alive()) {
        this.options.logger.error({ context: 'Workers' }, `worker ${worker.process.pid} still running; killing it`);
        worker.process.kill('SIGKILL');
      }
    }, timeoutMs);
    const codes = await Promise.all(exits);
    clearTimeout(timer);
    return codes;
  }

  /** Last, once no worker can use them any more. */
  private async stopShared(): Promise<void> {
    await this.simulator?.stop();
    await this.embedded?.stop();
    if (this.embedded) this.options.logger.info({ context: 'Workers' }, 'embedded Postgres stopped');
  }
}

export class WorkerStartFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerStartFailed';
  }
}
