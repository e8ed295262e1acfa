import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';

/** Child processes of the bench, the cores they run on, and what they use (CPU, memory). */

export const ROOT = process.cwd();

export interface Pinning {
  enabled: boolean;
  serverCore?: number;
  loadCore?: number;
  note: string;
}

function allowedCpus(): number[] {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1] ?? '';
  const cpuList: number[] = [];
  for (const part of line.split(',')) {
    const [from, to] = part.split('-').map(Number);
    if (!Number.isInteger(from)) continue;
    for (let cpu = from; cpu <= (Number.isInteger(to) ? to : from); cpu++) cpuList.push(cpu);
  }
  return cpuList;
}

export function choosePinning(): Pinning {
  let allowed: number[];
  try {
    allowed = allowedCpus();
  } catch {
    return { enabled: false, note: 'no /proc/self/status: nothing pinned' };
  }
  if (allowed.length < 2)
    return { enabled: false, note: `only ${allowed.length} CPU allowed: nothing pinned, figures are less comparable` };
  if (spawnSync('taskset', ['-V']).status !== 0) return { enabled: false, note: 'taskset not found: nothing pinned' };
  const [serverCore, loadCore] = allowed;
  const pinned = spawnSync('taskset', ['-a', '-cp', String(loadCore), String(process.pid)]);
  if (pinned.status !== 0)
    return { enabled: false, note: `taskset failed (${pinned.stderr.toString().trim()}): nothing pinned` };
  return {
    enabled: true,
    serverCore,
    loadCore,
    note: `server under test on CPU ${serverCore} alone; load generator (this process) and upstream simulator on CPU ${loadCore}`,
  };
}

/** The CPUs a process may run on, as the kernel reports them (e.g. "1" or "0-1"). */
function cpusAllowed(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Moves a gateway's embedded Postgres to `core` (the load generator's). Postgres is the gateway's child,
 * so it inherited the server core; there it would take about a tenth of that core and thrash the
 * gateway's caches, while in production the database runs on its own host. Moving the postmaster and
 * its current children (background workers, the gateway's pooled connections) is enough: backends
 * forked later inherit the postmaster's affinity. Returns where Postgres runs now, for the report.
 */
/** Niceness of the moved Postgres: below the generator and the simulator it shares the core with. */
export const POSTGRES_NICE = 10;

export function movePostgresToCore(dataDir: string, core: number): { moved: boolean; detail: string } {
  const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch (error) {
    return {
      moved: false,
      detail: `cannot read ${pidFile}: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (!Number.isInteger(postmaster) || postmaster <= 0)
    return { moved: false, detail: `no postmaster pid in ${pidFile}` };
  const pin = (pid: number) => {
    // Lower priority too: there it must not delay the load generator's sends, which count in every latency.
    spawnSync('renice', ['-n', String(POSTGRES_NICE), '-p', String(pid)]);
    return spawnSync('taskset', ['-a', '-cp', String(core), String(pid)]);
  };
  const pinned = pin(postmaster);
  if (pinned.status !== 0)
    return { moved: false, detail: `taskset on postmaster ${postmaster} failed: ${pinned.stderr.toString().trim()}` };
  const children = spawnSync('pgrep', ['-P', String(postmaster)])
    .stdout.toString()
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
  // A child may exit between pgrep and taskset (nothing left to move); only the survivors are checked below.
  for (const child of children) pin(child);
  const notMoved = [postmaster, ...children].filter((pid) => {
    const allowed = cpusAllowed(pid);
    return allowed !== undefined && allowed !== String(core);
  });
  if (notMoved.length > 0) return { moved: false, detail: `still not on CPU ${core}: pid ${notMoved.join(', ')}` };
  return { moved: true, detail: `postmaster ${postmaster} and ${children.length} children on CPU ${core}` };
}

// ---------------------------------------------------------------- child processes

const children = new Set<ChildServer>();

/** The run's temporary folder (catalogs, logs, data folders), and whether Ctrl-C stopped it. */
export const run = {
  tempRoot: undefined as string | undefined,
  /** Set on Ctrl-C (or SIGTERM): the rounds stop and no report is written, while the servers are stopped. */
  interrupted: false,
};

export class ChildServer {
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    readonly logFile: string,
    core: number | undefined,
    nodeFlags: readonly string[] = [],
  ) {
    const command = core === undefined ? process.execPath : 'taskset';
    // BENCH_PROFILE_DIR: every server writes a V8 CPU profile there when it stops, named after it.
    // Node refuses V8's GC flags and --cpu-prof in NODE_OPTIONS, so they go on the command line.
    const profile = process.env.BENCH_PROFILE_DIR
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`]
      : [];
    const extra = [...nodeFlags, ...profile];
    const argv =
      core === undefined
        ? [...extra, script, ...args]
        : ['-c', String(core), process.execPath, ...extra, script, ...args];
    const log = openSync(logFile, 'a');
    // Own process group, so that Ctrl-C reaches only us and stop() can take grandchildren (Postgres) too.
    this.proc = spawn(command, argv, { cwd: ROOT, env, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      this.proc.once('error', () => resolve());
    });
    children.add(this);
  }

  get pid(): number {
    if (this.proc.pid === undefined) throw new Error(`${this.name} did not start`);
    return this.proc.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined && this.exitSignal === undefined && this.proc.pid !== undefined;
  }

  logTail(lines = 25): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM to the process (it stops its own children, e.g. Postgres), then SIGKILL to whatever is left of its group. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.proc.pid !== undefined) {
      if (this.running) {
        signal(this.proc.pid, 'SIGTERM');
        await Promise.race([this.exited, sleep(graceMs)]);
      }
      signal(-this.proc.pid, 'SIGKILL');
    }
    children.delete(this);
  }

  killNow(): void {
    if (this.proc.pid !== undefined) signal(-this.proc.pid, 'SIGKILL');
    children.delete(this);
  }
}

export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function cleanup(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop(8_000)));
  removeTempRoot();
}

/** BENCH_KEEP_TEMP=1 leaves the run's folder (the servers' logs, catalogs, bodies) and says where it is. */
export function removeTempRoot(): void {
  if (run.tempRoot && process.env.BENCH_KEEP_TEMP === '1') console.error(`[bench] kept ${run.tempRoot}`);
  else if (run.tempRoot) rmSync(run.tempRoot, { recursive: true, force: true });
  run.tempRoot = undefined;
}

process.on('exit', () => {
  for (const child of children) child.killNow();
  removeTempRoot();
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers `expected`; fails early, with the child's log, if the child exits. */
export async function waitUntilReady(
  child: ChildServer,
  url: string,
  timeoutMs: number,
  expected = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!child.running)
      throw new Error(
        `${child.name} exited (code ${child.exitCode}, signal ${child.exitSignal}) before it was ready:\n${child.logTail()}`,
      );
    try {
      const response = await request(url, { headersTimeout: 2_000, bodyTimeout: 2_000 });
      const text = await response.body.text();
      if (response.statusCode === expected) return;
      last = `HTTP ${response.statusCode} ${text.slice(0, 300)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(100);
  }
  throw new Error(`${child.name} not ready after ${timeoutMs / 1000} s (${url}: ${last}):\n${child.logTail()}`);
}

export function vmRssMB(pid: number): number | undefined {
  try {
    const kb = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s*(\d+)\s*kB/m)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

let clockTicks: number | undefined;
/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/** CPU seconds a process uses from now until the returned function is called (undefined if /proc cannot tell). */
export function cpuMeter(pid: number | undefined): () => number | undefined {
  const before = pid === undefined ? undefined : cpuSeconds(pid);
  return () => {
    const after = pid === undefined ? undefined : cpuSeconds(pid);
    return before === undefined || after === undefined ? undefined : after - before;
  };
}

/** Samples the resident size every 200 ms; the returned function stops and gives the largest seen. */
export function sampleRss(pid: number): () => number {
  let maxMB = vmRssMB(pid) ?? 0;
  const sampler = setInterval(() => (maxMB = Math.max(maxMB, vmRssMB(pid) ?? 0)), 200);
  return () => {
    clearInterval(sampler);
    return Math.max(maxMB, vmRssMB(pid) ?? 0);
  };
}
