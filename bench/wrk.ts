import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClosedLoopResult, RequestShape } from './load';

/**
 * The closed-loop (throughput) load: wrk, a C load generator, from Debian's package. A load
 * generator written in Node spends more CPU per request than the bare proxy it measures, so on two
 * cores it capped the floor near 5 000 req/s and made every gateway look closer to it than it is
 * (docs/benchmarks.md). The bench installs nothing: without wrk it says how to get it.
 */

export function wrkMissing(): string | undefined {
  const probe = spawnSync('wrk', ['-v']);
  if (probe.error) return 'wrk is not installed: apt-get install -y wrk (Debian/Ubuntu), or brew install wrk';
  return undefined;
}

/** A Lua string literal that holds `text` as it is (long brackets: no escapes to get wrong). */
function lua(text: string): string {
  let level = '';
  while (text.includes(`]${level}]`)) level += '=';
  return `[${level}[${text}]${level}]`;
}

/** The wrk script of one shape: method, headers, body from a file, and the per-request header. */
function writeScript(shape: RequestShape, bodyFile: string, file: string): void {
  const headers = Object.entries(shape.headers)
    .map(([name, value]) => `wrk.headers[ ${lua(name)} ] = ${lua(value)}`)
    .join('\n');
  const perRequest = shape.perRequestHeader;
  writeFileSync(
    file,
    [
      'wrk.method = "POST"',
      headers,
      `local f = assert(io.open(${lua(bodyFile)}, "rb")); wrk.body = f:read("*a"); f:close()`,
      'local n = 0',
      'local h = {}',
      'request = function()',
      '  n = n + 1',
      '  for k, v in pairs(wrk.headers) do h[k] = v end',
      // The bench's per-request header (x-user-id) is user-<n>, as in the Node generators.
      perRequest ? `  h[ ${lua(perRequest.name)} ] = "user-" .. n` : '',
      `  return wrk.format(nil, ${lua(shape.path)}, h)`,
      'end',
      '',
    ].join('\n'),
  );
}

export interface WrkResult extends ClosedLoopResult {
  /** CPU seconds wrk itself used (user + system): how busy the load generator was. */
  generatorCpuSec: number;
}

let scripts = 0;

/** `connections` connections for `durationSec`, one wrk thread on `core`; bodies from `bodyFile`. */
export function runWrk(
  shape: RequestShape,
  bodyFile: string,
  options: { connections: number; durationSec: number; core?: number; tempDir: string },
): Promise<WrkResult> {
  const script = join(options.tempDir, `wrk-${scripts++}.lua`);
  writeScript(shape, bodyFile, script);
  const wrkArgs = [
    '-t1',
    `-c${options.connections}`,
    `-d${options.durationSec}s`,
    '--latency',
    '--timeout',
    '10s',
    '-s',
    script,
    `${shape.origin}${shape.path}`,
  ];
  // bash's `times` prints its children's CPU time once wrk has exited: wrk's own CPU, whatever else runs.
  const shell = ['-c', 'wrk "$@"; status=$?; times; exit $status', 'bench-wrk', ...wrkArgs];
  const command = options.core === undefined ? 'bash' : 'taskset';
  const argv = options.core === undefined ? shell : ['-c', String(options.core), 'bash', ...shell];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${(err || out).trim().slice(0, 500)}`));
      try {
        resolve(parseWrk(out, options.connections));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function parseWrk(out: string, connections: number): WrkResult {
  const totals = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(out);
  if (!totals) throw new Error(`could not read wrk's output:\n${out.slice(0, 800)}`);
  const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[totals[3] as 'us' | 'ms' | 's' | 'm'];
  const requests = Number(totals[1]);
  const durationSec = Number(totals[2]) * unit;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0;
  const timeouts = socket ? Number(socket[4]) : 0;
  const ok = requests - non2xx;
  // `times`: the shell's own user/system, then its children's (wrk), as "0m1.234s 0m0.567s".
  const times = [...out.matchAll(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/g)];
  const children = times[times.length - 1];
  const generatorCpuSec = children
    ? Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4])
    : NaN;
  const latency = (name: string) => {
    const match = new RegExp(`${name}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return match ? Number(match[1]) * { us: 1e-3, ms: 1, s: 1e3 }[match[2] as 'us' | 'ms' | 's'] : NaN;
  };
  return {
    connections,
    durationSec,
    rps: ok / durationSec,
    ok,
    non2xx,
    errors,
    timeouts,
    statusCodes: {},
    latencyP50Ms: latency('50'),
    latencyP99Ms: latency('99'),
    generatorCpuSec,
  };
}

/** Busy and total jiffies of one CPU, from /proc/stat (the whole core: wrk, the simulator and whatever else runs there). */
export function coreTicks(core: number | undefined): { busy: number; total: number } | undefined {
  if (core === undefined) return undefined;
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((row) => row.startsWith(`cpu${core} `));
    if (!line) return undefined;
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3] + (fields[4] ?? 0);
    const total = fields.reduce((sum, value) => sum + value, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}
