import { api, ApiError, query } from '../api';
import { COLOURS, TimeChart } from '../charts';
import { armLabel, stageSentence, stateWords } from '../canary-words';
import { fill, h, patch, section, table, type Child } from '../dom';
import { band, count, dash, duration, effect, metricValue, ms, pct, time, usd } from '../format';
import type { Context, Page } from '../main';
import type {
  Canary,
  CanaryEvent,
  Figures,
  MetricResult,
  ShadowPair,
  ShadowSide,
  ShadowVerdict,
  Verdict,
} from '../types';

type Action = 'pause' | 'resume' | 'promote' | 'rollback' | 'abort';

/** The manual actions, the states each applies in (as the API's), and what the button says. */
const ACTIONS: Array<{ action: Action; label: string; from: string[]; danger?: boolean; explain: string }> = [
  { action: 'pause', label: 'Pause', from: ['running'], explain: 'Weights stay; no verdicts until resumed.' },
  { action: 'resume', label: 'Resume', from: ['paused'], explain: 'The current stage starts a fresh window.' },
  {
    action: 'promote',
    label: 'Promote',
    from: ['pending', 'running', 'paused'],
    explain: 'The treatment goes to 100% now and the canary ends.',
  },
  {
    action: 'rollback',
    label: 'Roll back',
    from: ['running', 'paused'],
    danger: true,
    explain: 'The treatment goes to 0% and the canary ends as rolled back.',
  },
  {
    action: 'abort',
    label: 'Abort',
    from: ['pending', 'running', 'paused'],
    danger: true,
    explain: 'The treatment goes to 0% and the canary ends as aborted.',
  },
];

/** The action that undoes each one, where there is one: where the focus goes after it. */
const UNDO: Partial<Record<Action, Action>> = { pause: 'resume', resume: 'pause' };

/** How often cost and budget are read again (the rest of the page every poll). */
const SPEND_EVERY_MS = 30_000;

/** Verdicts that only say "keep watching" (an extended stage says so once, in its event): hidden from the log unless asked for. */
const QUIET_DECISIONS = new Set(['wait', 'extend']);
/**
 * About this many quiet looks are loaded, however long the canary ran: a day of looks every 10 s is
 * ~8 600 events (~11 MB). Transitions and decisive verdicts always come whole.
 */
const QUIET_LOOKS = 400;

interface MetricCharts {
  arms: TimeChart;
  difference: TimeChart;
  caption: HTMLElement;
}

/**
 * One canary: where the ramp stands against its plan, every guardrail's both arms and their
 * difference with its confidence band against the margin, the SRM check, cost and budget, the
 * decision log (GET /api/canaries/:id/events), and for admin keys the actions.
 */
export class RolloutPage implements Page {
  readonly title = 'Rollout';
  private events: CanaryEvent[] = [];
  private cursor: number | undefined;
  /** Seconds per quiet look kept (GET …/events?quietEvery), fixed at the first load; undefined: every look. */
  private quietEvery: number | undefined;
  private readonly charts = new Map<string, MetricCharts>();
  private readonly parts: Record<string, HTMLElement> = {};
  private readonly buttons = new Map<Action, HTMLButtonElement>();
  private dialog!: HTMLDialogElement;
  private root!: HTMLElement;
  private showQuiet = false;
  private canary: Canary | null = null;
  /** The canary as the action left it (state and last change): another change makes the result old news. */
  private resultOf: string | null = null;
  /** The canary's flag, read every poll: someone may kill it while the canary runs. */
  private flag: { enabled: boolean; defaultVariant: string; policy: string | null } | null = null;
  private spendReadAt = 0;
  private spendState = '';
  /** The arms' requests and cost since the canary was created (GET /api/metrics/summary), read every 30 s. */
  private costSummary: Array<Figures & { key: string | null }> | Error | null = null;

  constructor(
    private readonly context: Context,
    private readonly id: string,
  ) {}

  mount(root: HTMLElement): void {
    this.root = root;
    const part = (name: string, ...children: Child[]) =>
      (this.parts[name] = h('div', { id: `rollout-${name}` }, ...children));
    this.dialog = h('dialog', { id: 'action-dialog', 'aria-labelledby': 'action-title' });
    const parts: Array<HTMLElement | null> = [
      h('p', {}, h('a', { href: '#/rollouts' }, '← All rollouts')),
      part('header', h('p', { class: 'muted' }, 'Loading…')),
      this.context.isAdmin ? section('Actions', 'actions', this.actionBar(), part('action-result')) : null,
      section('Stages: planned and actual', 'timeline', part('timeline')),
      section('Latest verdict', 'verdict', part('verdict')),
      section(
        'Guardrails',
        'guardrails',
        h(
          'p',
          { class: 'muted' },
          'Per metric: both arms over time, and the difference (treatment − control, or the ratio) with its anytime-valid confidence band, the margin where harm starts, and the looks that decided something.',
        ),
        part('charts', h('div', { class: 'grid' })),
      ),
      section('Outcome metrics', 'outcomes', part('outcome-note'), part('outcome-charts', h('div', { class: 'grid' }))),
      h(
        'div',
        { class: 'grid' },
        section('Sample ratio (SRM)', 'srm', part('srm')),
        section('Cost per request', 'cost', part('cost')),
        section('Budgets', 'budget', part('budget')),
      ),
      section('Shadow traffic', 'shadow', part('shadow'), part('shadow-pairs')),
      section(
        'Decision log',
        'log',
        h(
          'label',
          { class: 'muted' },
          h('input', {
            type: 'checkbox',
            id: 'show-quiet',
            'on:change': (event: Event) => {
              this.showQuiet = (event.target as HTMLInputElement).checked;
              this.renderLog();
            },
          }),
          ' also show looks that decided to wait',
        ),
        part('log'),
      ),
      this.dialog,
    ];
    root.append(...parts.filter((element): element is HTMLElement => element !== null));
  }

  async refresh(): Promise<void | 'done'> {
    let canary: Canary;
    try {
      canary = await api<Canary>(`/api/canaries/${this.id}`);
    } catch (error) {
      // Canaries are never deleted: one that is not there never will be, nor will a malformed id (400).
      if (!(error instanceof ApiError && (error.status === 404 || error.status === 400))) throw error;
      fill(
        this.root,
        h('p', {}, h('a', { href: '#/rollouts' }, '← All rollouts')),
        h('h2', {}, 'No such rollout'),
        h('p', { id: 'rollout-missing' }, `${error.message}. The link may be mistyped, or from another gateway.`),
      );
      return 'done';
    }
    this.canary = canary;
    [this.flag] = await Promise.all([
      api<{ enabled: boolean; defaultVariant: string; policy: string | null }>(
        `/api/flags/${encodeURIComponent(canary.flagKey)}`,
      ),
      this.loadEvents(canary),
    ]);
    document.title = `${canary.flagKey} · Switchyard control room`;
    this.renderHeader(canary);
    this.renderActions(canary);
    this.renderTimeline(canary);
    this.renderVerdict(canary.lastVerdict);
    this.renderCharts(canary);
    this.renderShadow(canary);
    this.renderSrm(canary.lastVerdict);
    this.renderLog();
    // Spend moves slowly and its query scans the canary's rows: every 30 s, or when the state changes.
    const now = Date.now();
    if (now - this.spendReadAt >= SPEND_EVERY_MS || canary.state !== this.spendState) {
      this.spendReadAt = now;
      this.spendState = canary.state;
      await Promise.all([this.readCost(canary), this.renderBudget(canary)]);
    }
    // The primary outcome's numbers are the last verdict's: shown at every poll, with the spend last read.
    this.renderCost(canary);
    await this.renderShadowPairs(canary);
  }

  destroy(): void {
    for (const chart of this.charts.values()) {
      chart.arms.destroy();
      chart.difference.destroy();
    }
  }

  /**
   * Every event, oldest first, with the quiet looks of a long canary thinned to about QUIET_LOOKS:
   * the first refresh reads them all, later ones only the new ones.
   */
  private async loadEvents(canary: Canary): Promise<void> {
    if (this.cursor === undefined) {
      // The canary's life by the server's clock (not the browser's): to its end, or its last look.
      const until = canary.endedAt ?? canary.lastVerdict?.at ?? canary.createdAt;
      const every = Math.floor((Date.parse(until) - Date.parse(canary.createdAt)) / 1000 / QUIET_LOOKS);
      this.quietEvery = every >= 2 ? Math.min(every, 86_400) : undefined;
    }
    for (;;) {
      const page = await api<{ items: CanaryEvent[]; nextAfter: number | null }>(
        `/api/canaries/${this.id}/events${query({ limit: 500, after: this.cursor, quietEvery: this.quietEvery })}`,
      );
      this.events.push(...page.items);
      if (page.items.length > 0) this.cursor = page.items[page.items.length - 1].id;
      if (page.nextAfter === null) return;
    }
  }

  /**
   * The live stages' verdicts (the shadow stage's are the shadow panel's), ending with the latest
   * look even when thinning left its event out.
   */
  private verdicts(): Array<{ at: string; verdict: Verdict }> {
    const verdicts = this.events
      .filter((event) => event.type === 'verdict' && event.evidence && event.evidence.kind !== 'shadow')
      .map((event) => ({ at: event.at, verdict: event.evidence as unknown as Verdict }));
    const latest = this.canary?.lastVerdict;
    const last = verdicts.at(-1);
    if (
      latest &&
      (latest as unknown as ShadowVerdict).kind !== 'shadow' &&
      (!last || Date.parse(latest.at) > Date.parse(last.verdict.at))
    )
      verdicts.push({ at: latest.at, verdict: latest });
    return verdicts;
  }

  private shadowVerdicts(): ShadowVerdict[] {
    return this.events
      .filter((event) => event.type === 'verdict' && event.evidence?.kind === 'shadow')
      .map((event) => event.evidence as unknown as ShadowVerdict);
  }

  private renderHeader(canary: Canary): void {
    const stage = canary.stage;
    patch(
      this.parts.header,
      h(
        'h2',
        {},
        `${canary.flagKey}: ${canary.variant} vs ${canary.controlVariant} `,
        h('span', { class: `badge state-${canary.state}`, id: 'canary-state' }, canary.state.replace('_', ' ')),
      ),
      canary.stalled
        ? h(
            'p',
            { class: 'error-text', role: 'alert', id: 'canary-stalled' },
            `No tick has judged this canary since ${time(canary.stalled.since)} (${canary.stalled.missedTicks} tick periods): ` +
              'its ticks fail on every replica, or none is running. It stays as it is until a tick succeeds. ' +
              (canary.stalled.lastFailure
                ? `The last tick failed at ${time(canary.stalled.lastFailure.at)} on ${canary.stalled.lastFailure.instance}: ` +
                  `${canary.stalled.lastFailure.reason}. `
                : 'No replica stored why: their logs may ("tick failed"). ') +
              'switchyard_canary_tick_failures_total counts the failures.',
          )
        : null,
      this.flag && !this.flag.enabled && !canary.endedAt
        ? h(
            'p',
            { class: 'error-text', role: 'alert', id: 'flag-killed' },
            `The flag ${canary.flagKey} is switched off (killed): every user gets its default variant, ${this.flag.defaultVariant}, ` +
              'and none the treatment, whatever this stage plans. Enabling the flag gives the stage its weight back.',
          )
        : null,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Stage'),
        h('dd', {}, stageSentence(canary)),
        h('dt', {}, 'Time in stage'),
        h(
          'dd',
          {},
          stage
            ? `${duration(stage.elapsedSeconds)}${stage.durationSeconds ? ` of ${duration(stage.durationSeconds)}` : ''}`
            : dash,
          // The API stops a paused stage's time; a resume starts it again, so no bar fills meanwhile.
          canary.endedAt
            ? ', until it ended'
            : canary.state === 'paused' && stage
              ? ', paused: a resume starts the stage again'
              : stage && stage.durationSeconds
                ? [
                    ' ',
                    h('progress', {
                      max: stage.durationSeconds,
                      value: Math.min(stage.elapsedSeconds, stage.durationSeconds),
                      'aria-label': 'Time in stage',
                    }),
                  ]
                : null,
        ),
        h('dt', {}, 'Created'),
        h('dd', {}, `${time(canary.createdAt)} by ${canary.createdBy}`),
        canary.endedAt ? [h('dt', {}, 'Ended'), h('dd', {}, time(canary.endedAt))] : null,
      ),
    );
  }

  private actionBar(): HTMLElement {
    return h(
      'div',
      { class: 'actions' },
      ACTIONS.map(({ action, label, danger }) => {
        const button = h(
          'button',
          {
            type: 'button',
            class: danger ? 'danger' : null,
            'data-action': action,
            'on:click': () => this.ask(action),
          },
          label,
        );
        this.buttons.set(action, button);
        return button;
      }),
    );
  }

  private renderActions(canary: Canary): void {
    if (this.resultOf !== null && this.resultOf !== `${canary.state} ${canary.updatedAt}`) {
      this.resultOf = null;
      fill(this.parts['action-result']);
    }
    for (const { action, from } of ACTIONS) {
      const button = this.buttons.get(action);
      if (button) button.disabled = !from.includes(canary.state);
    }
  }

  /** Asks for the reason (required: it lands in the canary's events and the flag's history), then acts. */
  private ask(action: Action): void {
    const spec = ACTIONS.find((candidate) => candidate.action === action)!;
    const reason = h('textarea', {
      id: 'action-reason',
      name: 'reason',
      rows: 3,
      'aria-required': 'true',
      maxlength: 500,
    });
    const problem = h('p', { class: 'error-text', role: 'alert' });
    const submit = h('button', { type: 'submit', class: spec.danger ? 'danger' : 'primary' }, spec.label);
    const form = h(
      'form',
      // The page checks the reason itself, to say in words what is missing.
      { method: 'dialog', novalidate: true },
      h('h3', { id: 'action-title' }, `${spec.label} the canary on ${this.canary?.flagKey ?? ''}`),
      h('p', { class: 'muted' }, spec.explain),
      h('label', { for: 'action-reason' }, 'Reason (kept in the canary’s events and the flag’s history)'),
      reason,
      problem,
      h(
        'div',
        { class: 'actions' },
        submit,
        h('button', { type: 'button', 'on:click': () => this.dialog.close() }, 'Cancel'),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const why = reason.value.trim();
      if (!why) {
        problem.textContent = 'Say why: the reason is what the next person reads.';
        reason.focus();
        return;
      }
      submit.disabled = true;
      void api<Canary>(`/api/canaries/${this.id}/${action}`, { method: 'POST', body: { reason: why } })
        .then(async (canary) => {
          this.dialog.close();
          // The page as the action left it first: the button acted on is disabled now, so the focus
          // goes to the one that undoes it (resume after pause), or to the result when none is left.
          await this.refresh().catch(() => undefined);
          const result = h(
            'p',
            { role: 'status', tabindex: -1 },
            `${spec.label}: done, the canary is ${stateWords(canary.state)}.`,
          );
          fill(this.parts['action-result'], result);
          this.resultOf = `${canary.state} ${canary.updatedAt}`;
          const next = [UNDO[action], ...ACTIONS.map((candidate) => candidate.action)]
            .map((candidate) => (candidate ? this.buttons.get(candidate) : undefined))
            .find((button) => button && !button.disabled);
          (next ?? result).focus();
        })
        .catch((error: unknown) => {
          submit.disabled = false;
          problem.textContent = error instanceof ApiError ? error.message : String(error);
        });
    });
    fill(this.dialog, form);
    this.dialog.showModal();
    reason.focus();
  }

  private renderTimeline(canary: Canary): void {
    const starts: Array<string | undefined> = [];
    const ends: Array<string | undefined> = [];
    const extensions: number[] = canary.stages.map(() => 0);
    const pauses: number[] = canary.stages.map(() => 0);
    let current = -1;
    let shadowStart: string | undefined;
    let shadowEnd: string | undefined;
    for (const event of this.events) {
      // The shadow stage's events have no stage; shadow_passed ends it and starts the first stage.
      if (event.stage === null) {
        if (event.type === 'started') shadowStart = event.at;
        if (['promoted', 'rolled_back', 'aborted'].includes(event.type)) shadowEnd = event.at;
        continue;
      }
      if (event.type === 'shadow_passed') {
        shadowEnd = event.at;
        current = event.stage;
        starts[current] = event.at;
        continue;
      }
      if ((event.type === 'started' || event.stage !== current) && ['started', 'stage_advanced'].includes(event.type)) {
        if (current >= 0 && !ends[current]) ends[current] = event.at;
        current = event.stage;
        starts[current] = event.at;
      }
      if (event.type === 'stage_extended') extensions[event.stage]++;
      if (event.type === 'paused') pauses[event.stage]++;
      if (['promoted', 'rolled_back', 'aborted'].includes(event.type) && current >= 0) {
        ends[current] = event.at;
        // A tick's promotion at the end of the stage before the last goes to the last stage at once.
        if (event.stage !== current) starts[event.stage] = ends[event.stage] = event.at;
      }
    }
    const first = shadowStart ?? starts[0];
    const firstStart = first ? Date.parse(first) : null;
    let plannedOffset = canary.shadow?.durationSeconds ?? 0;
    const observed = this.observedShares();
    const rows = canary.stages.map((stage, index) => {
      const plannedStart = firstStart === null ? null : new Date(firstStart + plannedOffset * 1000).toISOString();
      plannedOffset += stage.durationSeconds;
      const start = starts[index];
      const end = ends[index] ?? (index === canary.stage?.index && !canary.endedAt ? undefined : ends[index]);
      const actual =
        start && end
          ? duration((Date.parse(end) - Date.parse(start)) / 1000)
          : start && index === canary.stage?.index
            ? `${duration(canary.stage.elapsedSeconds)} so far`
            : dash;
      const notes = [
        extensions[index] ? `extended ${extensions[index]}×` : '',
        pauses[index] ? `paused ${pauses[index]}×` : '',
      ].filter(Boolean);
      const here = index === canary.stage?.index;
      return [
        `${index + 1}${here ? (canary.endedAt ? ` (${stateWords(canary.state)} here)` : ' (current)') : ''}`,
        `${stage.percentage}%`,
        observed[index] ?? dash,
        stage.durationSeconds ? duration(stage.durationSeconds) : 'until promoted',
        time(plannedStart),
        time(start),
        actual,
        notes.join(', ') || dash,
      ];
    });
    if (canary.shadow) {
      const end = shadowEnd ?? canary.endedAt ?? undefined;
      rows.unshift([
        `shadow${canary.phase === 'shadow' && !canary.endedAt ? ' (current)' : ''}`,
        `0% (${canary.shadow.percentage}% copied)`,
        dash,
        duration(canary.shadow.durationSeconds),
        time(shadowStart),
        time(shadowStart),
        shadowStart && end
          ? duration((Date.parse(end) - Date.parse(shadowStart)) / 1000)
          : canary.shadowStage
            ? `${duration(canary.shadowStage.elapsedSeconds)} so far`
            : dash,
        dash,
      ]);
    }
    patch(
      this.parts.timeline,
      table(
        'Each stage: the planned treatment share and time, and what happened (observed share of users at the stage’s last verdict).',
        [
          'Stage',
          'Planned share',
          'Observed share',
          'Planned time',
          'Planned start',
          'Actual start',
          'Actual time',
          'Notes',
        ],
        rows,
        { id: 'timeline-table' },
      ),
    );
  }

  private observedShares(): Record<number, string> {
    const shares: Record<number, string> = {};
    for (const { verdict } of this.verdicts()) {
      const units = verdict.srm?.units;
      if (units && units.treatment + units.control > 0)
        shares[verdict.stage] = pct(units.treatment / (units.treatment + units.control));
    }
    return shares;
  }

  private renderVerdict(verdict: Verdict | null): void {
    if (!verdict) {
      patch(
        this.parts.verdict,
        h('p', { class: 'muted' }, 'No verdict yet: the first tick after the start judges the stage.'),
      );
      return;
    }
    if ((verdict as unknown as ShadowVerdict).kind === 'shadow') {
      patch(
        this.parts.verdict,
        h('p', { class: 'sentence', id: 'verdict-sentence' }, verdict.sentence),
        h(
          'p',
          { class: 'muted' },
          `${time(verdict.at)} · shadow stage · decision ${verdict.decision} · outcome ${verdict.outcome} · its numbers are in the shadow panel`,
        ),
      );
      return;
    }
    // A verdict from before the decision engine (a migrated canary) has no metrics or counts.
    const metrics = verdict.metrics ?? [];
    patch(
      this.parts.verdict,
      h('p', { class: 'sentence', id: 'verdict-sentence' }, verdict.sentence ?? verdict.outcome),
      h(
        'p',
        { class: 'muted' },
        `${time(verdict.at)} · decision ${verdict.decision} · outcome ${verdict.outcome} · n = ${count(verdict.n?.treatment.requests)} treatment / ${count(verdict.n?.control?.requests)} control requests`,
      ),
      metrics.length
        ? table(
            'Each guardrail at this look',
            ['Metric', 'Treatment', 'Control', 'Difference', 'Confidence band', 'Margin', 'Status'],
            metrics.map((m) => [
              m.label,
              metricValue(m.metric, m.treatment.estimate, m.kind),
              metricValue(m.metric, m.control?.estimate, m.kind),
              effect(m.metric, m.scale, m.effect, m.kind),
              m.interval ? band(m.metric, m.scale, m.interval, m.kind) : dash,
              m.against === 'limit'
                ? `limit ${metricValue(m.metric, m.margin, m.kind)}`
                : effect(m.metric, m.scale, m.margin, m.kind),
              h(
                'span',
                { class: `status-${m.status}` },
                m.status.replace('_', ' ') + (m.controlDegraded ? ' (control degraded too)' : ''),
              ),
            ]),
            { id: 'verdict-metrics' },
            metrics.map((m) => m.metric),
          )
        : null,
    );
  }

  /** Guardrails and hard gates in one panel, the outcome gates (analysis.outcomes) in theirs: the same charts. */
  private renderCharts(canary: Canary): void {
    const outcomes = new Set((canary.analysis.outcomes ?? []).map((gate) => gate.metric));
    this.renderMetricCharts(this.parts.charts, (key) => !outcomes.has(key));
    if (outcomes.size === 0) {
      patch(
        this.parts['outcome-note'],
        h(
          'p',
          { class: 'muted', id: 'no-outcomes' },
          'This canary gates on no outcome metrics: its verdicts judge the guardrails only.',
        ),
      );
      return;
    }
    patch(
      this.parts['outcome-note'],
      h(
        'p',
        { class: 'muted', id: 'outcome-gates' },
        `Gated on ${[...outcomes].join(', ')}${canary.analysis.primaryOutcome ? ` (primary: ${canary.analysis.primaryOutcome})` : ''}. `,
        'Per metric, as for the guardrails: both arms over time, and the difference with its confidence band, the margin and the looks that decided something.',
      ),
    );
    this.renderMetricCharts(this.parts['outcome-charts'], (key) => outcomes.has(key));
  }

  private renderMetricCharts(part: HTMLElement, shown: (key: string) => boolean): void {
    const verdicts = this.verdicts();
    const keys: string[] = [];
    const labels = new Map<string, MetricResult>();
    for (const { verdict } of verdicts)
      for (const metric of verdict.metrics ?? []) {
        if (!shown(metric.metric)) continue;
        if (!labels.has(metric.metric)) keys.push(metric.metric);
        labels.set(metric.metric, metric);
      }
    const grid = part.firstElementChild as HTMLElement;
    if (keys.length === 0) {
      if (!grid.querySelector('.empty'))
        patch(
          grid,
          h(
            'p',
            { class: 'muted empty' },
            'No look with numbers yet: each arm needs the analysis’ minimum of requests in the stage first.',
          ),
        );
      return;
    }
    grid.querySelector('.empty')?.remove();
    const x = verdicts.map(({ at }) => Date.parse(at) / 1000);
    for (const key of keys) {
      const latest = labels.get(key)!;
      const charts = this.charts.get(key) ?? this.addCharts(grid, latest);
      const at = verdicts.map(({ verdict }) => verdict.metrics?.find((m) => m.metric === key) ?? null);
      charts.arms.update(x, [
        at.map((m) => m?.treatment.estimate ?? null),
        at.map((m) => m?.control?.estimate ?? null),
      ]);
      charts.difference.update(x, [
        at.map((m) => m?.effect ?? null),
        at.map((m) => m?.interval?.[1] ?? null),
        at.map((m) => m?.interval?.[0] ?? null),
        at.map((m) => m?.margin ?? null),
        verdicts.map(({ verdict }, i) => (QUIET_DECISIONS.has(verdict.decision) ? null : (at[i]?.effect ?? null))),
      ]);
      const last = [...at].reverse().find((m) => m !== null) ?? latest;
      const kind = last.kind;
      patch(
        charts.caption,
        `Last look: treatment ${metricValue(key, last.treatment.estimate, kind)}, control ${metricValue(key, last.control?.estimate, kind)}; `,
        `${last.scale === 'ratio' ? 'ratio' : 'difference'} ${effect(key, last.scale, last.effect, kind)}, band ${last.interval ? band(key, last.scale, last.interval, kind) : dash}; `,
        `margin ${effect(key, last.scale, last.margin, kind)}; ${last.status.replace('_', ' ')}; n = ${count(last.treatment.n)} / ${count(last.control?.n)}.`,
      );
    }
  }

  private addCharts(grid: HTMLElement, metric: MetricResult): MetricCharts {
    const key = metric.metric;
    const value = (v: number) => metricValue(key, v, metric.kind);
    const diff = (v: number) => effect(key, metric.scale, v, metric.kind);
    const arms = new TimeChart({
      label: `${metric.label}: treatment and control over time`,
      value,
      series: [
        { label: 'treatment', colour: COLOURS.treatment },
        { label: 'control', colour: COLOURS.control },
      ],
    });
    const difference = new TimeChart({
      label: `${metric.label}: ${metric.scale === 'ratio' ? 'treatment / control' : 'treatment − control'} with its confidence band and the margin`,
      value: diff,
      band: [1, 2],
      series: [
        { label: metric.scale === 'ratio' ? 'ratio' : 'difference', colour: COLOURS.treatment },
        { label: 'band high', colour: COLOURS.band, width: 1, markers: false },
        { label: 'band low', colour: COLOURS.band, width: 1, markers: false },
        { label: 'margin', colour: COLOURS.margin, dash: [6, 4], markers: false, guide: true },
        { label: 'decision', colour: COLOURS.decision, pointsOnly: true },
      ],
    });
    const caption = h('figcaption', { class: 'chart-caption' });
    grid.append(
      h(
        'figure',
        { class: 'panel metric', 'data-metric': key },
        h('h4', {}, metric.label),
        arms.element,
        difference.element,
        caption,
      ),
    );
    const charts = { arms, difference, caption };
    this.charts.set(key, charts);
    return charts;
  }

  private renderSrm(verdict: Verdict | null): void {
    const srm = verdict?.srm;
    if (!srm?.units) {
      patch(
        this.parts.srm,
        h(
          'p',
          { class: 'muted' },
          (verdict as unknown as ShadowVerdict | null)?.kind === 'shadow'
            ? 'Not checked in the shadow stage: every user is on the control.'
            : 'No verdict yet.',
        ),
      );
      return;
    }
    const total = srm.units.treatment + srm.units.control;
    patch(
      this.parts.srm,
      srm.checked
        ? h(
            'p',
            { class: srm.mismatch ? 'error-text' : '' },
            srm.mismatch
              ? 'Mismatch: the split is off the weights; the data cannot be trusted.'
              : 'The split matches the weights.',
          )
        : h('p', { class: 'muted' }, `Not checked: ${srm.skipped ?? 'no reason given'}.`),
      h(
        'dl',
        { class: 'facts', id: 'srm-facts' },
        h('dt', {}, 'Expected treatment share'),
        h('dd', {}, pct(srm.expectedShare)),
        h('dt', {}, 'Observed (users)'),
        h(
          'dd',
          {},
          total ? `${pct(srm.units.treatment / total)} (${count(srm.units.treatment)} of ${count(total)})` : dash,
        ),
        h('dt', {}, 'Requests'),
        h('dd', {}, `${count(srm.requests.treatment)} treatment / ${count(srm.requests.control)} control`),
        h('dt', {}, 'p-value (anytime)'),
        h('dd', {}, `${srm.pValue.toPrecision(3)} (mismatch below ${srm.threshold})`),
      ),
    );
  }

  private async readCost(canary: Canary): Promise<void> {
    try {
      this.costSummary = (
        await api<{ groups: Array<Figures & { key: string | null }> }>(
          `/api/metrics/summary${query({ flag: canary.flagKey, groupBy: 'variant', from: canary.createdAt, to: canary.endedAt ?? undefined })}`,
        )
      ).groups;
    } catch (error) {
      this.costSummary = error as Error;
    }
  }

  private renderCost(canary: Canary): void {
    const summary = this.costSummary;
    if (summary instanceof Error) {
      patch(this.parts.cost, h('p', { class: 'error-text' }, `Cost unavailable: ${summary.message}`));
      return;
    }
    const primary = canary.lastVerdict?.primary ?? null;
    const kind = canary.lastVerdict?.metrics?.find((m) => m.metric === primary?.metric)?.kind;
    const arms = [canary.variant, canary.controlVariant].map((variant) => ({
      variant,
      figures: summary?.find((group) => group.key === variant),
      outcome: variant === canary.variant ? primary?.treatment : primary?.control,
    }));
    const perOutcome = (outcome: (typeof arms)[number]['outcome']): Child =>
      !canary.analysis.primaryOutcome
        ? h('span', { class: 'muted' }, 'no primary outcome metric')
        : !outcome
          ? h('span', { class: 'muted' }, 'no look yet')
          : `${usd(outcome.costPerOutcomeUsd)} (${count(outcome.outcomes)} outcomes)`;
    patch(
      this.parts.cost,
      table(
        `Since the canary was created; per outcome (${canary.analysis.primaryOutcome ?? 'none'}): in the stage at the last look`,
        ['Arm', 'Requests', 'Cost', 'Per request', 'Per outcome'],
        arms.map(({ variant, figures, outcome }) => [
          armLabel(variant, variant === canary.variant ? 'treatment' : 'control'),
          count(figures?.requests ?? 0),
          usd(figures?.costUsd ?? 0),
          figures && figures.requests > 0 ? usd(figures.costUsd / figures.requests) : dash,
          perOutcome(outcome),
        ]),
        { id: 'cost-table' },
      ),
      primary
        ? h(
            'p',
            { id: 'primary-outcome' },
            `Primary outcome ${primary.label}: treatment ${metricValue(primary.metric, primary.treatment.estimate, kind)}, control ${metricValue(primary.metric, primary.control?.estimate, kind)}; `,
            `effect ${effect(primary.metric, primary.scale, primary.effect, kind)}, ${pct(primary.level)} band ${primary.interval ? band(primary.metric, primary.scale, primary.interval, kind) : dash}.`,
          )
        : null,
    );
  }

  /** The shadow stage: its plan, where it stands, and its verdict with the numbers (from the events). */
  private renderShadow(canary: Canary): void {
    const plan = canary.shadow;
    if (!plan) {
      patch(
        this.parts.shadow,
        h('p', { class: 'muted', id: 'no-shadow' }, 'No shadow stage: this canary went straight to its live stages.'),
      );
      return;
    }
    const verdicts = this.shadowVerdicts();
    const last = verdicts[verdicts.length - 1] ?? null;
    const spent = last?.spentUsd === null || last?.spentUsd === undefined ? null : Number(last.spentUsd);
    const phase =
      canary.phase === 'live'
        ? 'done: the live stages followed'
        : canary.endedAt
          ? `ended in the shadow stage (${canary.state.replace('_', ' ')})`
          : canary.shadowStage
            ? `running, ${duration(canary.shadowStage.elapsedSeconds)} of ${duration(plan.durationSeconds)}`
            : 'not started';
    patch(
      this.parts.shadow,
      h(
        'dl',
        { class: 'facts', id: 'shadow-facts' },
        h('dt', {}, 'Plan'),
        h(
          'dd',
          {},
          `${plan.percentage}% of users copied to the candidate for ${duration(plan.durationSeconds)}, at most ${usd(plan.maxSpendUsd)}; judged from ${count(plan.minPairs)} pairs`,
        ),
        h('dt', {}, 'Phase'),
        h('dd', { id: 'shadow-phase' }, phase),
        h('dt', {}, 'Pairs so far'),
        h('dd', { id: 'shadow-pairs-count' }, last ? count(last.pairs) : 'no look yet'),
        h('dt', {}, 'Spend'),
        h(
          'dd',
          { id: 'shadow-spend' },
          `${usd(spent)} of ${usd(plan.maxSpendUsd)}${last?.spendExhausted ? ' (cap reached)' : ''}`,
        ),
      ),
      last
        ? [
            h('p', { class: 'sentence', id: 'shadow-sentence' }, last.sentence),
            h('p', { class: 'muted' }, `${time(last.at)} · outcome ${last.outcome} · decision ${last.decision}`),
            table(
              'Each signal at the last shadow look: the candidate against the control on the same prompts',
              ['Signal', 'Status', 'Estimate', 'Confidence band', 'Limit', 'In words'],
              last.signals.map((signal) => {
                const paired = signal.signal === 'errors' || signal.signal === 'quality';
                const value = (v: number | null) =>
                  paired
                    ? effect('errorRate', 'difference', v)
                    : signal.signal === 'agreement'
                      ? pct(v)
                      : effect('', 'ratio', v);
                return [
                  signal.signal,
                  h('span', { class: `status-${signal.status}` }, signal.status.replace('_', ' ')),
                  value(signal.estimate),
                  signal.interval ? `${value(signal.interval.lower)} … ${value(signal.interval.upper)}` : dash,
                  signal.limit === null ? dash : value(signal.limit),
                  signal.sentence,
                ];
              }),
              { id: 'shadow-signals' },
            ),
          ]
        : h('p', { class: 'muted' }, 'No shadow verdict yet: the first tick judges the pairs.'),
    );
  }

  /**
   * The disagreeing pairs side by side, for admin keys (answers may hold user data); read every poll
   * (the newest 20: one query down the canary's (canary_id, at) index), so pairs of calls still in
   * flight at the stage's end show too. Answers are text nodes, never markup.
   */
  private async renderShadowPairs(canary: Canary): Promise<void> {
    if (!canary.shadow) return;
    if (!this.context.isAdmin) {
      patch(
        this.parts['shadow-pairs'],
        h(
          'p',
          { class: 'muted', id: 'shadow-pairs-admin-only' },
          'The disagreeing pairs’ answers are shown to admin keys only: they may hold user data.',
        ),
      );
      return;
    }
    try {
      const pairs = await api<ShadowPair[]>(
        `/api/canaries/${this.id}/shadow-pairs${query({ disagree: 'true', limit: 20 })}`,
      );
      const side = (name: string, one: ShadowSide) =>
        h(
          'div',
          { class: 'shadow-side', 'data-side': name },
          h('h5', {}, `${name}: ${one.variant}${one.model ? ` (${one.model})` : ''}`),
          h(
            'p',
            { class: 'muted' },
            `${one.outcome} · ${ms(one.latencyMs)} · ${usd(one.costUsd === null ? null : Number(one.costUsd))}${one.qualitySignals.length ? ` · ${one.qualitySignals.join(', ')}` : ''}${one.tools.length ? ` · tools ${one.tools.join(', ')}` : ''}`,
          ),
          h('pre', { class: 'answer' }, one.answer ?? '(no answer)'),
        );
      patch(
        this.parts['shadow-pairs'],
        h('h4', {}, `Disagreeing pairs (newest ${count(pairs.length)})`),
        pairs.length === 0
          ? h('p', { class: 'muted' }, 'No disagreeing pair so far.')
          : h(
              'ol',
              { class: 'pairs', id: 'shadow-disagreements' },
              pairs.map((pair) =>
                h(
                  'li',
                  { 'data-pair': pair.id, 'data-key': pair.id },
                  h('div', { class: 'meta' }, time(pair.at)),
                  h('div', { class: 'side-by-side' }, side('control', pair.control), side('candidate', pair.candidate)),
                ),
              ),
            ),
      );
    } catch (error) {
      patch(
        this.parts['shadow-pairs'],
        h('p', { class: 'error-text' }, `Shadow pairs unavailable: ${(error as Error).message}`),
      );
    }
  }

  private async renderBudget(canary: Canary): Promise<void> {
    try {
      const budgets = await api<
        Array<{
          scope: string;
          target: string;
          limitUsd: number;
          period: string;
          onExhausted: string;
          current: { spentUsd: number; remainingUsd: number; exhausted: boolean };
        }>
      >('/api/budgets');
      // The canary's own budget (its treatment), and its policy's (all of the flag's traffic).
      const policy = this.flag?.policy ?? null;
      const mine = budgets.filter(
        (budget) =>
          (budget.scope === 'canary' && budget.target === canary.id) ||
          (budget.scope === 'policy' && budget.target === policy),
      );
      patch(
        this.parts.budget,
        mine.length === 0
          ? h('p', { class: 'muted' }, 'No budget on this canary’s treatment or on its policy.')
          : table(
              'Spend against the budgets on this canary’s treatment and on its policy',
              ['Budget', 'Period', 'Spent', 'Limit', 'Remaining', 'When used up'],
              mine.map((budget) => [
                budget.scope === 'canary' ? 'this canary' : `policy ${budget.target}`,
                budget.period,
                usd(budget.current.spentUsd),
                usd(budget.limitUsd),
                budget.current.exhausted
                  ? h('span', { class: 'error-text' }, 'used up')
                  : usd(budget.current.remainingUsd),
                budget.onExhausted,
              ]),
            ),
      );
    } catch (error) {
      patch(this.parts.budget, h('p', { class: 'error-text' }, `Budgets unavailable: ${(error as Error).message}`));
    }
  }

  private renderLog(): void {
    const shown = this.events.filter(
      (event) => this.showQuiet || event.type !== 'verdict' || !QUIET_DECISIONS.has(String(event.evidence?.decision)),
    );
    patch(
      this.parts.log,
      this.showQuiet && this.quietEvery !== undefined
        ? h(
            'p',
            { class: 'muted', id: 'quiet-thinned' },
            `This canary ran long: one look that decided to wait is shown per ${this.quietEvery} s. GET /api/canaries/${this.id}/events lists every one.`,
          )
        : null,
      shown.length === 0
        ? h('p', { class: 'muted' }, 'Nothing logged yet.')
        : h(
            'ol',
            { class: 'log', reversed: true, id: 'decision-log' },
            [...shown]
              .reverse()
              .map((event) =>
                h(
                  'li',
                  { 'data-event-id': event.id, 'data-type': event.type, 'data-key': event.id },
                  h(
                    'div',
                    { class: 'meta' },
                    `${time(event.at)} · ${event.type.replace('_', ' ')} · ${event.stage === null ? 'shadow stage' : `stage ${event.stage + 1}`} · ${event.actor}`,
                  ),
                  h('div', { class: 'sentence' }, event.message),
                ),
              ),
          ),
    );
  }
}
