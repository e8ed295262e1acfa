import type { OpenLoopResult, TtfbResult } from './load';
import { PROMPT_SIZE_NAMES, type PromptSize } from './prompts';
import type { Pinning } from './processes';
import type { IngestionResult } from './servers';

/** What one target did at one prompt size, all its throughput slices pooled. */
export interface SizeResult {
  /** 2xx per second over all slices. */
  rps: number;
  ok: number;
  failed: number;
  durationSec: number;
  /** The headline: the server's user + system CPU time over the 2xx it served, in µs. */
  cpuUsPerRequest?: number;
  /** The lowest and highest CPU per request of the slices: how much the figure moves round to round. */
  cpuUsPerRequestRange?: [number, number];
  serverCpuPercent?: number;
  /** (b)–(e): the upstream simulator, on the load core. */
  upstreamCpuPercent?: number;
  /** wrk's own CPU, % of one core: the load generator must not be the bottleneck. */
  generatorCpuPercent?: number;
  /** The load core as a whole (wrk, the simulator, and anything else running there). */
  loadCoreBusyPercent?: number;
  rssMaxMB: number;
}

export interface TargetResult {
  id: string;
  label: string;
  status: 'measured' | 'failed';
  error?: string;
  pid?: number;
  notes: string[];
  sizes: Partial<Record<PromptSize, SizeResult>>;
  openLoop?: OpenLoopResult;
  ttfb?: TtfbResult;
  rssIdleMB?: number;
  ingestion?: IngestionResult;
  /** The gateway's own time at the fixed rate, from its /metrics histogram (a bucket bound: "at most"). */
  overheadP50Ms?: number;
  overheadP99Ms?: number;
}

export interface Check {
  name: string;
  value: string;
  limit: string;
  pass: boolean | null;
}

export interface Settings {
  only: string[];
  sizes: PromptSize[];
  rounds: number;
  /** Processes per target, its slices taken from each in turn. */
  processes: number;
  connections: number;
  warmupSec: number;
  sliceSec: number;
  ratePerSec: number;
  rateSliceSec: number;
  rateWarmupSec: number;
  ttfbCount: number;
  baseline?: string;
}

export interface Report {
  date: string;
  node: string;
  cpu: string;
  cpus: number;
  loadAverage1m: number;
  loadAverage1mEnd?: number;
  commit?: string;
  pinning: Pinning;
  settings: Settings;
  notes: string[];
  /** In the order measured; the ids of targetSpecs. */
  targets: TargetResult[];
  checks: Check[];
}

const ms = (value: number) => `${value.toFixed(2)} ms`;
const us = (value: number) => `${value.toFixed(0)} µs`;
const measured = (report: Report, id: string) =>
  report.targets.find((target) => target.id === id && target.status === 'measured');

/** Latency figures less the simulator's own: what the target adds. */
function added(report: Report, id: string) {
  const target = measured(report, id);
  const sim = measured(report, 'simulator');
  const minus = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) ? undefined : a - b;
  return {
    p50: minus(target?.openLoop?.latencyMs.p50, sim?.openLoop?.latencyMs.p50),
    p99: minus(target?.openLoop?.latencyMs.p99, sim?.openLoop?.latencyMs.p99),
    ttfbP50: minus(target?.ttfb?.ttfbMs.p50, sim?.ttfb?.ttfbMs.p50),
    ttfbP99: minus(target?.ttfb?.ttfbMs.p99, sim?.ttfb?.ttfbMs.p99),
  };
}

function check(name: string, value: string, limit: string, pass: boolean | null): Check {
  return { name, value, limit, pass };
}

/** The issue's targets (#20), each against the bare proxy of the same run. */
export function checks(report: Report): Check[] {
  const list: Check[] = [];
  const gateway = measured(report, 'gateway');
  const proxy = measured(report, 'proxy');
  const noMetrics = measured(report, 'gateway-no-metrics');
  const baseline = measured(report, 'baseline');
  for (const size of report.settings.sizes) {
    const g = gateway?.sizes[size]?.cpuUsPerRequest;
    const p = proxy?.sizes[size]?.cpuUsPerRequest;
    list.push(
      check(
        `gateway CPU per request ≤ 2× bare proxy's, ${size} prompt`,
        g === undefined ? 'n/a' : `${us(g)}${p ? ` (${(g / p).toFixed(2)}×)` : ''}`,
        p === undefined ? 'n/a' : `≤ ${us(2 * p)}`,
        g === undefined || p === undefined ? null : g <= 2 * p,
      ),
    );
  }
  for (const size of report.settings.sizes) {
    const g = gateway?.sizes[size]?.cpuUsPerRequest;
    const off = noMetrics?.sizes[size]?.cpuUsPerRequest;
    const share = g === undefined || off === undefined ? undefined : (g - off) / g;
    list.push(
      check(
        `metrics ≤ 10% of the gateway's CPU per request, ${size} prompt`,
        share === undefined ? 'n/a' : `${(100 * share).toFixed(1)}% (${us(g!)} on, ${us(off!)} off)`,
        '≤ 10%',
        share === undefined ? null : share <= 0.1,
      ),
    );
  }
  const g = added(report, 'gateway');
  const p = added(report, 'proxy');
  for (const key of ['p50', 'p99'] as const) {
    const limit = p[key] !== undefined && p[key]! > 0 ? 2 * p[key]! : undefined;
    list.push(
      check(
        `gateway added ${key} at ${report.settings.ratePerSec} req/s ≤ 2× bare proxy's added`,
        g[key] === undefined ? 'n/a' : ms(g[key]!),
        limit === undefined
          ? `n/a (proxy's added ${key} ${p[key] === undefined ? 'n/a' : ms(p[key]!)}: noise)`
          : `≤ ${ms(limit)}`,
        g[key] === undefined || limit === undefined ? null : g[key]! <= limit,
      ),
    );
  }
  const ttfb = (key: 'ttfbP50' | 'ttfbP99', margin: number, label: string) =>
    check(
      `gateway stream first byte added ${label} ≤ bare proxy's + ${margin} ms`,
      g[key] === undefined ? 'n/a' : ms(g[key]!),
      p[key] === undefined ? 'n/a' : `≤ ${ms(p[key]! + margin)}`,
      g[key] === undefined || p[key] === undefined ? null : g[key]! <= p[key]! + margin,
    );
  list.push(ttfb('ttfbP50', 0.3, 'p50'), ttfb('ttfbP99', 2, 'p99'));
  // Judged at the first (smallest) prompt size, as the issue's figures are; the others are in the table.
  const firstSize = report.settings.sizes[0];
  const rss = gateway?.sizes[firstSize]?.rssMaxMB;
  list.push(
    check(
      `gateway RSS under load < 200 MB, ${firstSize} prompt`,
      rss === undefined ? 'n/a' : `${rss.toFixed(0)} MB`,
      '< 200 MB',
      rss === undefined ? null : rss < 200,
    ),
  );
  const ingestion = gateway?.ingestion;
  const lossless =
    ingestion &&
    ingestion.dropped === 0 &&
    ingestion.written === ingestion.requests &&
    (ingestion.rowsInDatabase ?? ingestion.written) === ingestion.requests;
  list.push(
    check(
      'metrics: every request has its row (zero loss)',
      ingestion
        ? `${ingestion.requests} requests, ${ingestion.written} rows written, ${ingestion.rowsInDatabase ?? 'n/a'} in Postgres, ${ingestion.dropped} dropped`
        : 'n/a',
      'all equal, 0 dropped',
      ingestion ? Boolean(lossless) : null,
    ),
  );
  if (baseline) {
    for (const size of report.settings.sizes) {
      const now = gateway?.sizes[size]?.cpuUsPerRequest;
      const before = baseline.sizes[size]?.cpuUsPerRequest;
      // The same build measured twice in one run differs by a few per cent; more than 5% is a regression.
      list.push(
        check(
          `no worse than ${baseline.label.replace(/^\(e\) /, '')}: CPU per request, ${size} prompt`,
          now === undefined || before === undefined
            ? 'n/a'
            : `${us(now)} vs ${us(before)} (${(now / before).toFixed(2)}×)`,
          '≤ 1.05×',
          now === undefined || before === undefined ? null : now <= before * 1.05,
        ),
      );
    }
  }
  return list;
}

interface Row {
  label: string;
  value: (target: TargetResult) => number | undefined;
  digits: number;
  ratio: boolean;
}

function rows(report: Report): Row[] {
  const rate = `@ ${report.settings.ratePerSec} req/s`;
  const sizes = report.settings.sizes;
  const firstSize = sizes[0];
  const addedOf = (key: 'p50' | 'p99' | 'ttfbP50' | 'ttfbP99') => (t: TargetResult) =>
    t.id === 'simulator' ? undefined : added(report, t.id)[key];
  return [
    ...sizes.map((size) => ({
      label: `server CPU per request, µs (${size} prompt)`,
      value: (t: TargetResult) => t.sizes[size]?.cpuUsPerRequest,
      digits: 0,
      ratio: true,
    })),
    ...sizes.map((size) => ({
      label: `throughput, req/s (${size}, ${report.settings.connections} conn)`,
      value: (t: TargetResult) => t.sizes[size]?.rps,
      digits: 0,
      ratio: true,
    })),
    { label: `latency p50 ${rate}, ms`, value: (t) => t.openLoop?.latencyMs.p50, digits: 2, ratio: true },
    { label: `latency p99 ${rate}, ms`, value: (t) => t.openLoop?.latencyMs.p99, digits: 2, ratio: true },
    { label: `added p50 ${rate}, ms`, value: addedOf('p50'), digits: 2, ratio: true },
    { label: `added p99 ${rate}, ms`, value: addedOf('p99'), digits: 2, ratio: true },
    {
      label: `gateway's own time p50 ${rate} (its histogram, ≤), ms`,
      value: (t) => t.overheadP50Ms,
      digits: 2,
      ratio: false,
    },
    {
      label: `gateway's own time p99 ${rate} (its histogram, ≤), ms`,
      value: (t) => t.overheadP99Ms,
      digits: 2,
      ratio: false,
    },
    { label: 'stream first byte p50, ms', value: (t) => t.ttfb?.ttfbMs.p50, digits: 2, ratio: true },
    { label: 'stream first byte p99, ms', value: (t) => t.ttfb?.ttfbMs.p99, digits: 2, ratio: true },
    { label: 'stream first byte added p50, ms', value: addedOf('ttfbP50'), digits: 2, ratio: true },
    { label: 'stream first byte added p99, ms', value: addedOf('ttfbP99'), digits: 2, ratio: true },
    ...sizes.map((size) => ({
      label: `RSS max under load, MB (${size})`,
      value: (t: TargetResult) => t.sizes[size]?.rssMaxMB,
      digits: 0,
      ratio: true,
    })),
    {
      label: `server CPU during throughput, % of a core (${firstSize})`,
      value: (t) => t.sizes[firstSize]?.serverCpuPercent,
      digits: 0,
      ratio: false,
    },
    ...sizes.map((size) => ({
      label: `load core: wrk / whole core busy, % (${size})`,
      value: (t: TargetResult) => t.sizes[size]?.generatorCpuPercent,
      digits: 0,
      ratio: false,
      suffix: (t: TargetResult) => t.sizes[size]?.loadCoreBusyPercent,
    })),
    {
      label: 'failed requests (non-2xx + errors)',
      value: (t) =>
        Object.values(t.sizes).reduce((sum, s) => sum + (s?.failed ?? 0), 0) +
        (t.openLoop ? t.openLoop.non2xx + t.openLoop.errors : 0) +
        (t.ttfb?.failures ?? 0),
      digits: 0,
      ratio: false,
    },
  ];
}

function cell(
  row: Row & { suffix?: (t: TargetResult) => number | undefined },
  target: TargetResult,
  proxy?: TargetResult,
): string {
  if (target.status === 'failed') return 'failed';
  const value = row.value(target);
  if (value === undefined || Number.isNaN(value)) return '—';
  const format = (v: number) =>
    v.toLocaleString('en-US', { minimumFractionDigits: row.digits, maximumFractionDigits: row.digits });
  const suffix = row.suffix?.(target);
  const text = suffix === undefined ? format(value) : `${format(value)} / ${format(suffix)}`;
  const base = proxy ? row.value(proxy) : undefined;
  // A non-positive base (the proxy's "added" p99 can come out at or below zero on a noisy run) makes no ratio.
  if (!row.ratio || base === undefined || !(base > 0) || target === proxy) return text;
  return `${text} (${(value / base).toFixed(2)}×)`;
}

export function table(report: Report, markdown: boolean): string {
  const proxy = measured(report, 'proxy');
  const header = ['', ...report.targets.map((t) => t.label)];
  const body = rows(report).map((row) => [row.label, ...report.targets.map((t) => cell(row, t, proxy))]);
  const checkRows = report.checks.map((c) => [
    c.name,
    c.value,
    c.limit,
    c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'FAIL',
  ]);
  const checkHeader = ['target', 'measured', 'limit', ''];
  if (markdown) {
    const md = (cells: string[][], head: string[]) =>
      [head, head.map(() => '---'), ...cells].map((r) => `| ${r.join(' | ')} |`).join('\n');
    return `${md(body, header)}\n\n${md(checkRows, checkHeader)}`;
  }
  const text = (cells: string[][], head: string[]) => {
    const all = [head, ...cells];
    const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ');
    return [line(head), widths.map((w) => '-'.repeat(w)).join('   '), ...cells.map(line)].join('\n');
  };
  return `${text(body, header)}\n\n${text(checkRows, checkHeader)}`;
}

export function describeRun(report: Report): string[] {
  const s = report.settings;
  return [
    `${report.date} · node ${report.node} · ${report.cpus}× ${report.cpu} · load avg ${report.loadAverage1m.toFixed(2)} → ${(report.loadAverage1mEnd ?? NaN).toFixed(2)} (other work on a shared machine shows up in the p99s)${report.commit ? ` · commit ${report.commit}` : ''}`,
    `pinning: ${report.pinning.note}`,
    `method: every server runs for the whole run; each measurement is taken in ${s.rounds} interleaved rounds, one slice per target per round, round r starting at target r mod n; ` +
      `a target's figures pool all its slices, so a drift of this VM's speed falls on every target alike; ` +
      (s.processes > 1
        ? `each target runs as ${s.processes} processes, round r taking its slice from process r mod ${s.processes}, so no target is judged on one process's luck.`
        : 'each target runs as one process.'),
    `throughput and CPU: wrk (1 thread, ${s.connections} connections) on the load core, ${s.rounds} × ${s.sliceSec} s per target and prompt size (${s.sizes.join(', ')}) after ${s.warmupSec} s warm-up; ` +
      `CPU per request = the server's user + system time over the 2xx it served; ` +
      `latency (${PROMPT_SIZE_NAMES[0]} prompt): open loop ${s.ratePerSec} req/s, ${s.rounds} × ${s.rateSliceSec} s per target, from each request's scheduled send time; ` +
      `stream first byte: sequential stream requests. Ratios (×) are to the bare proxy in this run; "added" = target − simulator direct.`,
  ];
}
