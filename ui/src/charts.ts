import uPlot from 'uplot';
import { h } from './dom';
import { axisTimes } from './format';
import { lonePoints, timeRange } from './scales';

/** Colours that stay apart for the common colour-vision deficiencies (Okabe–Ito). */
export const COLOURS = {
  treatment: '#d55e00',
  control: '#0072b2',
  band: 'rgba(213, 94, 0, 0.18)',
  margin: '#cc2f7a',
  decision: '#000000',
  series: ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#f0e442'],
};

export interface SeriesSpec {
  label: string;
  colour: string;
  dash?: number[];
  /** Only the points, no line (decision points). */
  pointsOnly?: boolean;
  width?: number;
  /**
   * A dot on each value with no neighbour to draw a line to (a single look, a value between gaps),
   * which a line alone would not show (default); off for bands and margins.
   */
  markers?: boolean;
  /** A line drawn for reference (a margin): a chart that has only these has no data. */
  guide?: boolean;
}

export interface ChartSpec {
  /** Names the chart for screen readers (the figure's caption says the numbers). */
  label: string;
  series: SeriesSpec[];
  /** Format of a value (the legend's; the y axis' ticks too, unless `axis`). */
  value: (value: number) => string;
  /** The y axis' tick labels, all at once: for a format whose precision the step between ticks sets. */
  axis?: (ticks: number[]) => string[];
  /** Indices (into `series`) of the upper and lower side of a shaded band. */
  band?: [number, number];
  height?: number;
}

/** Steps between time ticks, in seconds: whole seconds at least, so no two ticks read the same. */
const TIME_STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
];

/**
 * A uPlot time-series chart that follows its container's width and takes new data without being
 * built again (`update`), so a page polling every few seconds moves its lines instead of flashing.
 * `x` is in seconds since the epoch; a null y is a gap.
 */
export class TimeChart {
  readonly element: HTMLElement;
  private plot: uPlot | null = null;
  private readonly resize: ResizeObserver;
  private points = 0;
  /** No value to show yet (e.g. no streamed request, so no time to first token): the note says so. */
  private empty = false;

  constructor(private readonly spec: ChartSpec) {
    this.element = h(
      'div',
      { class: 'chart', role: 'img', 'aria-label': spec.label, 'data-points': 0 },
      h('p', { class: 'no-data muted', hidden: true }, 'No data yet'),
    );
    this.resize = new ResizeObserver(() => this.plot?.setSize(this.size()));
    this.resize.observe(this.element);
  }

  update(x: number[], ys: Array<Array<number | null>>): void {
    const data = [x, ...ys] as uPlot.AlignedData;
    this.points = x.length;
    this.element.setAttribute('data-points', String(x.length));
    // Without values the scale would be made up (0 to 1: "0 ms, 0 ms, 1 ms"): no labels, a note instead.
    this.empty = ys.every((values, index) => this.spec.series[index]?.guide || values.every((v) => v === null));
    this.element.classList.toggle('empty', this.empty);
    (this.element.querySelector('.no-data') as HTMLElement).hidden = !this.empty;
    if (!this.plot) {
      this.plot = new uPlot(this.options(), data, this.element);
    } else {
      this.plot.setData(data);
    }
  }

  get pointCount(): number {
    return this.points;
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(240, this.element.clientWidth || 600), height: this.spec.height ?? 200 };
  }

  private options(): uPlot.Options {
    const { spec } = this;
    return {
      ...this.size(),
      // Ticks fall on whole UTC minutes and hours, as the labels (axisTimes) read them.
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
      scales: {
        x: { time: true, range: (plot) => timeRange(plot.data[0]) },
        // A flat line (all zero) gets a readable span instead of a symmetric one around it.
        y: {
          range: (_plot, min, max) =>
            min === max
              ? [Math.min(0, min), Math.max(0, max) + (Math.abs(max) || 1)]
              : uPlot.rangeNum(min, max, 0.1, true),
        },
      },
      legend: { live: false },
      cursor: { points: { show: false } },
      series: [
        { label: 'time' },
        ...spec.series.map((series): uPlot.Series => ({
          label: series.label,
          stroke: series.colour,
          width: series.width ?? (series.pointsOnly ? 0 : 2),
          dash: series.dash,
          spanGaps: false,
          value: (_plot, value) => (value === null || value === undefined ? '—' : spec.value(value)),
          ...(series.pointsOnly
            ? { paths: () => null, points: { show: true, size: 9, fill: series.colour, stroke: series.colour } }
            : series.markers === false
              ? { points: { show: false } }
              : {
                  points: {
                    show: false,
                    size: 7,
                    fill: series.colour,
                    filter: (plot: uPlot, index: number) => lonePoints(plot.data[index]),
                  },
                }),
        })),
      ],
      bands: spec.band ? [{ series: [spec.band[0] + 1, spec.band[1] + 1], fill: COLOURS.band }] : [],
      axes: [
        { values: (_plot, ticks) => axisTimes(ticks), space: 70, incrs: TIME_STEPS },
        {
          values: (_plot, ticks) =>
            this.empty ? ticks.map(() => '') : spec.axis ? spec.axis(ticks) : ticks.map((tick) => spec.value(tick)),
          size: valueAxisSize,
        },
      ],
    };
  }
}

/**
 * The value axis' width: its widest label ("-100.00 pp" is wider than "5 ms"), the tick and the gap.
 * uPlot asks again until the sizes settle; after the first round the size found stays.
 */
function valueAxisSize(plot: uPlot, values: string[] | null, axisIndex: number, cycle: number): number {
  const axis = plot.axes[axisIndex] as uPlot.Axis & { _size: number; font: [string, number] };
  if (cycle > 1) return axis._size;
  const { ctx } = plot;
  const font = ctx.font;
  ctx.font = axis.font[0];
  const widest = Math.max(0, ...(values ?? []).map((value) => ctx.measureText(value).width));
  ctx.font = font;
  return Math.ceil(widest / uPlot.pxRatio + (axis.ticks?.size ?? 10) + (axis.gap ?? 5) + 4);
}
