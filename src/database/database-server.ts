import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { databaseConfig, type DatabaseConfig } from '../config/database.config';
import { EmbeddedPostgresServer } from './embedded-postgres';

/**
 * Decides which Postgres the app uses: DATABASE_URL when set, otherwise an embedded server it starts
 * itself. The shutdown coordinator (bootstrap) calls `stop()` last, once every writer has drained.
 */
@Injectable()
export class DatabaseServer {
  private readonly logger = new Logger(DatabaseServer.name);
  private embedded?: EmbeddedPostgresServer;

  constructor(
    @Inject(databaseConfig.KEY) private readonly config: DatabaseConfig,
    private readonly moduleRef: ModuleRef,
  ) {}

  async connectionUrl(): Promise<string> {
    if (this.config.url) return this.config.url;
    this.embedded = new EmbeddedPostgresServer({
      dataDir: this.config.dataDir,
      port: this.config.embeddedPort,
      log: (message) => this.logger.debug(message),
      warn: (message) => this.logger.warn(message),
    });
    const url = await this.embedded.start();
    this.logger.log(
      `embedded Postgres running on 127.0.0.1:${this.config.embeddedPort}, data in ${this.config.dataDir}`,
    );
    return url;
  }

  /** Closes the connection pool if it is still open, then stops the embedded server if there is one. */
  async stop(): Promise<void> {
    const embedded = this.embedded;
    this.embedded = undefined;
    if (!embedded) return;
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded.stop();
    this.logger.log('embedded Postgres stopped');
  }
}
