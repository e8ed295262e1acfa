import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * `npm run build` (nest build, then the control room), so tests can run `node dist/src/main.js` exactly as `npm start` does.
 * Once per test run (TMPDIR is the run's own folder, global-setup.ts): the files that need it share
 * one build instead of each compiling the whole app next to the other test files' timing bounds.
 */
export async function buildApp(): Promise<void> {
  const done = join(tmpdir(), 'switchyard-app-build');
  try {
    await writeFile(`${done}.lock`, String(process.pid), { flag: 'wx' });
  } catch {
    // Another test file builds it: wait for its outcome.
    while (!existsSync(done)) await new Promise((resolve) => setTimeout(resolve, 200));
    const outcome = await readFile(done, 'utf8');
    if (outcome !== 'ok') throw new Error(`the app build of this test run failed: ${outcome}`);
    return;
  }
  try {
    await promisify(execFile)('npx', ['nest', 'build'], { cwd: process.cwd(), maxBuffer: 16 * 1024 * 1024 });
    // The rest of `npm run build`: the control room into dist/ui.
    await promisify(execFile)(process.execPath, ['ui/build.mjs'], { cwd: process.cwd() });
    await writeFile(done, 'ok');
  } catch (error) {
    await writeFile(done, error instanceof Error ? error.message : String(error));
    throw error;
  }
}

/** The `--` flags package.json's `start` script runs Node with (heap sizes, GC): what a user's gateway runs with. */
export function npmStartNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } };
  return pkg.scripts.start.split(/\s+/).filter((arg) => arg.startsWith('--'));
}

/** `node dist/src/main.js` as a process of its own, in its own process group (as a terminal runs it). */
export class BuiltApp {
  readonly process: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;

  /** `options.cwd`: the folder it runs in (default: the project's); `options.nodeFlags`: before the script, as npm start's. */
  constructor(env: Record<string, string | undefined>, options: { cwd?: string; nodeFlags?: string[] } = {}) {
    const inherited = { ...process.env };
    // The test run's own database must not leak into the app: unset means "embedded Postgres".
    delete inherited.DATABASE_URL;
    const merged: Record<string, string | undefined> = { ...inherited, LOG_LEVEL: 'info', ...env };
    for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
    const script = join(process.cwd(), 'dist', 'src', 'main.js');
    this.process = spawn(process.execPath, [...(options.nodeFlags ?? []), script], {
      cwd: options.cwd ?? process.cwd(),
      env: merged,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('utf8')));
    this.process.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
  }

  /** Resolves once the start banner is out; rejects with the output if the process exits first. */
  async ready(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    // The whole banner: its first line may arrive in a chunk of its own.
    while (!/Switchyard is ready at .*\n(.*\n){4}/.test(this.stdout)) {
      if (exited || Date.now() > deadline) {
        throw new Error(`the app did not start:\n${this.stdout}\n${this.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Like Ctrl-C in a terminal: the signal goes to every process of the app's process group. */
  signalGroup(signal: NodeJS.Signals): void {
    process.kill(-this.process.pid!, signal);
  }

  /** Lines the app wrote to stdout, parsed where they are JSON log lines. */
  logLines(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Stops the app if a test left it running (in order: SIGTERM, so its Postgres is stopped too). */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }
}
