import { api, query } from '../api';
import { COLOURS, TimeChart } from '../charts';
import { fill, h, patch, section, table } from '../dom';
import { axisDollars, count, ms, pct, usd } from '../format';
import type { Context, Page } from '../main';
import type { Figures } from '../types';

type Grouping = 'policy' | 'model' | 'apiKey';

interface Series {
  key: string | null;
  points: Array<Figures & { t: string }>;
}

interface CostFigures {
  requests: number;
  /** Requests a provider may have billed without reporting usage: costUsd leaves them out. */
  unpricedRequests: number;
  costUsd: number;
  referenceCostUsd: number;
  savingUsd: number;
  savingRatio: number | null;
}

interface CostGroup extends CostFigures {
  key: string | null;
  dimensions: { apiKeyName?: string | null };
}

interface CostReport {
  total: CostFigures;
  groups: CostGroup[];
  referenceModel?: string;
}

const CHARTS = [
  { id: 'requests', label: 'Requests per bucket', value: (v: number) => count(v), pick: (p: Figures) => p.requests },
  { id: 'errors', label: 'Error rate', value: (v: number) => pct(v, 2), pick: (p: Figures) => p.errorRate },
  { id: 'p50', label: 'Latency p50', value: (v: number) => ms(v), pick: (p: Figures) => p.latencyMs.p50 },
  { id: 'p95', label: 'Latency p95', value: (v: number) => ms(v), pick: (p: Figures) => p.latencyMs.p95 },
  { id: 'p99', label: 'Latency p99', value: (v: number) => ms(v), pick: (p: Figures) => p.latencyMs.p99 },
  {
    id: 'cost',
    label: 'Cost per bucket',
    value: (v: number) => usd(v),
    axis: axisDollars,
    pick: (p: Figures) => p.costUsd,
  },
] as const;

/**
 * The requests whose cost no dollar figure holds: the provider may have billed them without saying
 * what (an answer without usage, a stream that broke, a client that left after the call went out).
 */
function unpricedNote(unpriced: number): HTMLElement | null {
  if (unpriced === 0) return null;
  const one = unpriced === 1;
  return h(
    'p',
    { id: 'cost-unpriced' },
    `${count(unpriced)} ${one ? 'request' : 'requests'} unpriced: the provider may have billed ${one ? 'it' : 'them'} ` +
      `without reporting usage (an answer without usage, a stream that broke, a client that left), so the dollars ` +
      `below leave ${one ? 'it' : 'them'} out; spend budgets charged each its worst case.`,
  );
}

/** Requests, errors, latency percentiles and cost over the last hour by policy, model or team key; spend and saving by policy, model and team. */
export class TrafficPage implements Page {
  readonly title = 'Traffic & cost';
  private grouping: Grouping = 'policy';
  private charts = new Map<string, TimeChart>();
  private chartGrid!: HTMLElement;
  private costs!: HTMLElement;
  private keys = '';

  constructor(_context: Context) {}

  mount(root: HTMLElement): void {
    const select = h(
      'select',
      {
        id: 'group-by',
        'on:change': (event: Event) => {
          this.grouping = (event.target as HTMLSelectElement).value as Grouping;
          this.resetCharts();
          void this.refresh();
        },
      },
      h('option', { value: 'policy' }, 'policy'),
      h('option', { value: 'model' }, 'model'),
      h('option', { value: 'apiKey' }, 'team key'),
    );
    this.chartGrid = h('div', { class: 'grid', id: 'traffic-charts' });
    this.costs = h('div', { id: 'cost-report' });
    root.append(
      h('h2', {}, 'Traffic & cost'),
      h(
        'p',
        {},
        h('label', { for: 'group-by' }, 'Group by '),
        select,
        h('span', { class: 'muted' }, ' · the last hour, per minute'),
      ),
      this.chartGrid,
      section('Spend and saving against the reference model (last 24 hours)', 'costs', this.costs),
    );
  }

  destroy(): void {
    this.resetCharts();
  }

  async refresh(): Promise<void> {
    const [series, byPolicy, byModel, byKey] = await Promise.all([
      api<{ series: Series[] }>(`/api/metrics/timeseries${query({ groupBy: this.grouping, bucket: '1m' })}`),
      api<CostReport>('/api/metrics/cost?groupBy=policy'),
      api<CostReport>('/api/metrics/cost?groupBy=model'),
      api<CostReport>('/api/metrics/cost?groupBy=apiKey'),
    ]);
    // Keys are ids in the series; the cost report names them.
    const names = new Map(byKey.groups.map((group) => [group.key, group.dimensions.apiKeyName ?? group.key]));
    this.renderCharts(series.series, (key) => (this.grouping === 'apiKey' ? (names.get(key) ?? key) : key) ?? '(none)');
    const costTable = (title: string, groups: CostGroup[], name: (group: CostGroup) => string, id: string) =>
      table(
        title,
        ['', 'Requests', 'Cost', 'At reference prices', 'Saving'],
        groups.map((group) => [
          name(group),
          count(group.requests),
          group.unpricedRequests > 0
            ? `${usd(group.costUsd)} (${count(group.unpricedRequests)} unpriced)`
            : usd(group.costUsd),
          usd(group.referenceCostUsd),
          `${usd(group.savingUsd)} (${pct(group.savingRatio)})`,
        ]),
        { id },
      );
    patch(
      this.costs,
      h('p', { class: 'muted' }, `Reference model: ${byPolicy.referenceModel ?? 'METRICS_REFERENCE_MODEL'}`),
      unpricedNote(byPolicy.total.unpricedRequests),
      h(
        'div',
        { class: 'grid' },
        costTable('By policy', byPolicy.groups, (g) => g.key ?? '(no policy)', 'cost-by-policy'),
        costTable('By model', byModel.groups, (g) => g.key ?? '(none)', 'cost-by-model'),
        costTable('By team key', byKey.groups, (g) => g.dimensions.apiKeyName ?? g.key ?? '(no key)', 'cost-by-key'),
      ),
    );
  }

  private resetCharts(): void {
    for (const chart of this.charts.values()) chart.destroy();
    this.charts.clear();
    this.keys = '';
    fill(this.chartGrid);
  }

  private renderCharts(series: Series[], nameOf: (key: string | null) => string): void {
    const keys = series.map((s) => nameOf(s.key));
    // A new group needs new series in every chart: build them again.
    if (keys.join('\n') !== this.keys) this.resetCharts();
    this.keys = keys.join('\n');
    const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort();
    const x = times.map((t) => Date.parse(t) / 1000);
    if (series.length === 0) {
      fill(this.chartGrid, h('p', { class: 'muted' }, 'No request in the last hour.'));
      return;
    }
    for (const spec of CHARTS) {
      let chart = this.charts.get(spec.id);
      if (!chart) {
        chart = new TimeChart({
          label: `${spec.label} by ${this.grouping}`,
          value: spec.value,
          axis: 'axis' in spec ? spec.axis : undefined,
          series: keys.map((key, index) => ({ label: key, colour: COLOURS.series[index % COLOURS.series.length] })),
        });
        this.charts.set(spec.id, chart);
        this.chartGrid.append(
          h('figure', { class: 'panel', 'data-chart': spec.id }, h('h3', {}, spec.label), chart.element),
        );
      }
      chart.update(
        x,
        series.map((s) => {
          const byTime = new Map(s.points.map((p) => [p.t, p]));
          return times.map((t) => {
            const point = byTime.get(t);
            return point ? spec.pick(point) : null;
          });
        }),
      );
    }
  }
}
