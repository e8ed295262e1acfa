export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Prometheus text format: `name{label="value",...} number` lines, `#` comments. Values are parsed as
 * Prometheus does (Go's ParseFloat): NaN in any case — prom-client writes a gauge with no data yet,
 * such as nodejs_eventloop_lag_mean_seconds right after start, as `Nan`.
 */
export function parsePrometheus(text: string): PrometheusSample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|\+Inf|-Inf)$/.exec(line);
      if (!match) throw new Error(`not Prometheus exposition: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]),
      );
      return { name: match[1], labels, value: /^nan$/i.test(match[3]) ? NaN : Number(match[3]) };
    });
}

/** The sum of every sample named `name` whose labels include `labels`. */
export function sumOf(samples: PrometheusSample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}
