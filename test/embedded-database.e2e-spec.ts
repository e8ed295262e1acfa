import { existsSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { freePort } from './support/free-port';
import { startTestApp } from './support/test-app';

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => socket.destroy() && resolve(true));
    socket.once('error', () => resolve(false));
  });
}

describe('without DATABASE_URL the app runs its own embedded Postgres', () => {
  it('starts it on the data folder, migrates, locks the folder, and stops it on shutdown', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-embedded-'));
    await chmod(dataDir, 0o755);
    const pgPort = await freePort();
    const env = { SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_EMBEDDED_PG_PORT: String(pgPort) };

    const first = await startTestApp({ databaseUrl: undefined, env });
    try {
      const ready = await request(first.url).get('/health/ready').expect(200);
      expect(ready.body.info.database.status).toBe('up');
      expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);

      await expect(startTestApp({ databaseUrl: undefined, env })).rejects.toThrow(
        `data folder ${dataDir} is in use by process ${process.pid}`,
      );
    } finally {
      await first.close();
    }
    expect(await portAnswers(pgPort)).toBe(false);
    expect(existsSync(join(dataDir, 'switchyard.pid'))).toBe(false);

    // The data stays: a restart on the same folder finds the initialised cluster and comes up again.
    const second = await startTestApp({ databaseUrl: undefined, env });
    try {
      await request(second.url).get('/health/ready').expect(200);
    } finally {
      await second.close();
    }
  });
});
