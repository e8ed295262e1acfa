import { rm } from 'node:fs/promises';
import type { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';

interface RunState {
  embeddedPostgres?: EmbeddedPostgresServer;
  runTempDir?: string;
  previousTmpDir?: string;
}

/** Stops the run's Postgres, then removes the run's temp folder (see global setup). */
export default async function globalTeardown(): Promise<void> {
  const state = globalThis as RunState;
  await state.embeddedPostgres?.stop();
  if (state.runTempDir) await rm(state.runTempDir, { recursive: true, force: true });
  if (state.previousTmpDir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = state.previousTmpDir;
}
