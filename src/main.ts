import 'reflect-metadata';
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { type INestApplication, Logger } from '@nestjs/common';
import { symbols } from 'pino';
import { assertStartableConfiguration, createApp, shutDownApp } from './bootstrap';
import { providerKeyValues, rootLogger } from './common/logging.module';
import { secretRedactor } from './common/secret-redaction';
import { AppLogger } from './common/pino-logger';
import { accessConfig } from './config/access.config';
import { appConfig } from './config/app.config';
import { catalogConfig } from './config/catalog.config';
import { databaseConfig } from './config/database.config';
import { assertPortFree, type ConfiguredPort, describePortError } from './config/port-check';
import { StartupError } from './config/startup-error';
import { ClusterPrimary, WorkerStartFailed } from './lifecycle/cluster-primary';
import { startBanner } from './lifecycle/start-banner';
import { announceReady } from './lifecycle/workers';

let ports: ConfiguredPort[] = [];

async function main(): Promise<void> {
  // SIGHUP asks for a catalog reload (the reloader listens once the app runs): before that, and in a
  // cluster's primary, which serves nothing itself, its default action would end the process.
  process.on('SIGHUP', ignoreHangUp);
  assertStartableConfiguration();
  const app = appConfig();
  const database = databaseConfig();
  ports = portsToBind(app.port, app.host);
  if (cluster.isWorker) return serve(app.shutdownTimeoutMs, announceReady);
  // Until the app can shut down in order, Ctrl-C just exits (an embedded Postgres already started
  // is told to stop on the way out).
  const exitDuringStartUp = () => process.exit(130);
  process.on('SIGINT', exitDuringStartUp);
  process.on('SIGTERM', exitDuringStartUp);
  // Before anything starts (the embedded Postgres takes a moment): a taken port, or a HOST that is no
  // address of this machine, fails in an instant (so PORT=0 is probed too, for its host).
  for (const port of ports) await assertPortFree(port);
  const printBanner = (write: (text: string) => void, port: number) =>
    write(
      `${startBanner({
        host: app.host,
        port,
        adminKeyFromEnvironment: accessConfig().adminKey !== undefined,
        embeddedDataDir: database.url ? undefined : database.dataDir,
        workers: app.workers,
      })}\n`,
    );
  if (app.workers > 1) {
    const logger = rootLogger(app, secretRedactor(providerKeyValues(catalogConfig())));
    const write = (text: string) => (logger as unknown as Record<symbol, Stream>)[symbols.streamSym].write(text);
    const primary = new ClusterPrimary({ app, database, logger, onReady: (port) => printBanner(write, port) });
    await primary.start();
    process.off('SIGINT', exitDuringStartUp);
    process.off('SIGTERM', exitDuringStartUp);
    process.on('SIGHUP', () => primary.passHangUp());
    onceOnSignal((signal) => primary.stop(signal).then((code) => process.exit(code)));
    return;
  }
  await serve(app.shutdownTimeoutMs, (port, nest) => {
    process.off('SIGINT', exitDuringStartUp);
    process.off('SIGTERM', exitDuringStartUp);
    // Through the log's own stream, whatever LOG_LEVEL: pino writes asynchronously, so a banner
    // written to the console directly could come out before the last start-up lines.
    const root = nest.get(AppLogger).root as unknown as Record<symbol, Stream>;
    printBanner((text) => root[symbols.streamSym].write(text), port);
  });
}

type Stream = { write(text: string): void };

function ignoreHangUp(): void {
  // Nothing: the catalog reloader (or, in a cluster's primary, passHangUp) acts on it.
}

/** One gateway process: the app on PORT (shared with the other workers under WORKERS > 1). */
async function serve(timeoutMs: number, ready: (port: number, nest: INestApplication) => void): Promise<void> {
  const app = appConfig();
  const nest = await createApp();
  try {
    await nest.listen(app.port, app.host);
  } catch (error) {
    await shutDownApp(nest, 'start-up failed');
    throw error;
  }
  stopOnSignals(nest, timeoutMs);
  ready((nest.getHttpServer().address() as AddressInfo).port, nest);
}

/** The ports this process binds, with the variable that moves each, for one-line messages. */
function portsToBind(port: number, host: string): ConfiguredPort[] {
  const bound: ConfiguredPort[] = [{ port, host, variable: 'PORT', hostVariable: 'HOST', what: 'the gateway' }];
  const simulator = catalogConfig().catalog.simulator;
  if (simulator) {
    bound.push({ port: simulator.port, host: '127.0.0.1', variable: 'SIMULATOR_PORT', what: 'the simulated provider' });
  }
  return bound;
}

/**
 * SIGINT (Ctrl-C) and SIGTERM run the shutdown coordinator once. A repeated signal changes nothing
 * (`npm start` forwards the terminal's Ctrl-C, so the app gets it twice); SHUTDOWN_TIMEOUT_MS is
 * the bound after which the process exits anyway. A worker whose primary is gone stops as well.
 */
function stopOnSignals(nest: INestApplication, timeoutMs: number): void {
  onceOnSignal((signal) => {
    setTimeout(() => {
      new Logger('Shutdown').error(`still not stopped after SHUTDOWN_TIMEOUT_MS (${timeoutMs} ms); exiting anyway`);
      process.exit(1);
    }, timeoutMs).unref();
    return shutDownApp(nest, signal).then(
      () => process.exit(0),
      (error: unknown) => {
        new Logger('Shutdown').error(error);
        process.exit(1);
      },
    );
  });
  if (cluster.isWorker) process.once('disconnect', () => process.emit('SIGTERM'));
}

/** Runs `stop` on the first SIGINT or SIGTERM; later ones are ignored. */
function onceOnSignal(stop: (signal: NodeJS.Signals) => Promise<unknown>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    void stop(signal);
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}

main().catch((error: unknown) => {
  // Problems the operator can fix already say how, in one line; anything else gets its stack,
  // along with the log lines start-up had buffered.
  const friendly =
    error instanceof StartupError || error instanceof WorkerStartFailed
      ? error.message
      : describePortError(error, ports);
  if (!friendly) Logger.flush();
  console.error('Switchyard failed to start:', friendly ?? error);
  process.exit(1);
});
