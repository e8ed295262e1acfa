import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The control room built by its own build script (ui/build.mjs, what `npm run build` runs) into a
 * folder of this test file's own, for the app's UI_DIR: no test depends on, or races over, dist/.
 */
export async function buildUi(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-ui-'));
  await promisify(execFile)(process.execPath, ['ui/build.mjs', dir], { cwd: process.cwd() });
  return dir;
}
