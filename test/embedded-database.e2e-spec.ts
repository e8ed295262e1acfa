import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { freePort } from './support/free-port';
import { tempDir } from './support/temp-dir';
import { api, startTestApp } from './support/test-app';
import { eventually } from './support/webhook-server';

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => socket.destroy() && resolve(true));
    socket.once('error', () => resolve(false));
  });
}

describe('without DATABASE_URL the app runs its own embedded Postgres', () => {
  it('starts it on the data folder, migrates, locks the folder, and stops it on shutdown', async () => {
    const dataDir = await tempDir('embedded');
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

  it("runs Postgres in a process group of its own, so a terminal's Ctrl-C to the app's group does not reach it", async () => {
    const dataDir = await tempDir('embedded-group');
    const server = new EmbeddedPostgresServer({ dataDir, port: await freePort() });
    await server.start();
    try {
      const postmaster = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp session ..."
      const group = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[2]);
      expect(group(postmaster)).toBe(postmaster);
      expect(group(postmaster)).not.toBe(group(process.pid));
      expect(existsSync(join(dataDir, 'postgres.log'))).toBe(true);
    } finally {
      await server.stop();
    }
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  it('starts its Postgres again when the server dies (kill -9), and the app serves and stores again', async () => {
    const dataDir = await tempDir('embedded-restart');
    const pgPort = await freePort();
    const app = await startTestApp({
      databaseUrl: undefined,
      env: { SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_EMBEDDED_PG_PORT: String(pgPort) },
    });
    const postmasterPid = () => {
      const file = join(dataDir, 'postgres', 'postmaster.pid');
      return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
    };
    try {
      const killed = postmasterPid()!;
      process.kill(killed, 'SIGKILL');
      const restarted = await eventually(
        async () => {
          const pid = postmasterPid();
          // Ready stays 200 while the database is down (degraded: served from memory); `up` is back.
          const ready = await request(app.url).get('/health/ready');
          return pid !== undefined && pid !== killed && ready.body.info?.database?.status === 'up' ? pid : undefined;
        },
        30_000,
        'the embedded Postgres started again',
      );
      expect(process.kill(restarted, 0)).toBe(true);
      // The pool's connections to the dead server are gone; new ones reach the new one.
      const created = await api(app)
        .post('/api/keys')
        .send({ name: 'after-restart', scopes: ['gateway'] })
        .expect(201);
      const listed = await api(app).get('/api/keys').expect(200);
      expect(JSON.stringify(listed.body)).toContain(created.body.id);
    } finally {
      await app.close();
    }
    expect(await portAnswers(pgPort)).toBe(false);
  });
});
