import { api, query } from '../api';
import { shareCell, stageCell, stateWords } from '../canary-words';
import { h, patch, table } from '../dom';
import { count, dash, duration, pct, time } from '../format';
import type { Context, Page } from '../main';
import type { Canary } from '../types';

/** Canaries asked for at a time: the API's default page. */
export const CANARY_PAGE = 50;

/** Which canaries the list shows: the API's `state` filter, or every canary. */
const SHOWN: Array<{ value: string; label: string }> = [
  { value: '', label: 'all canaries' },
  { value: 'active', label: 'active (pending, running, paused)' },
  { value: 'ended', label: 'ended (promoted, rolled back, aborted)' },
];

/**
 * Canaries, newest first: state, stage, planned and observed treatment share, time in stage, the last
 * verdict. They come a page at a time from the API, which also filters them by state: ended canaries
 * pile up for as long as the gateway runs, and the page stays short.
 */
export class RolloutsPage implements Page {
  readonly title = 'Rollouts';
  private body!: HTMLElement;
  private more!: HTMLElement;
  private state = '';
  /** Pages the reader has loaded ("Load more"): each poll asks for as many again. */
  private pages = 1;

  constructor(private readonly context: Context) {}

  mount(root: HTMLElement): void {
    this.body = h('div', { id: 'rollouts' }, h('p', { class: 'muted' }, 'Loading…'));
    this.more = h('div', { id: 'rollouts-more' });
    const select = h(
      'select',
      {
        id: 'rollout-state',
        'on:change': (event: Event) => {
          this.state = (event.target as HTMLSelectElement).value;
          this.pages = 1;
          void this.refresh();
        },
      },
      SHOWN.map((option) => h('option', { value: option.value }, option.label)),
    );
    root.append(
      h('h2', {}, 'Rollouts'),
      h('p', { class: 'flag-filters' }, h('label', { for: 'rollout-state' }, 'Show'), select),
      this.body,
      this.more,
    );
  }

  async refresh(): Promise<void> {
    const asked = this.asked();
    const { canaries, nextBefore } = await this.loadCanaries();
    // The reader changed the filter meanwhile: the refresh that change started draws its own answer.
    if (this.asked() !== asked) return;
    patch(
      this.more,
      canaries.length === 0
        ? null
        : h(
            'p',
            { class: 'muted', id: 'rollouts-shown' },
            `${count(canaries.length)} canar${canaries.length === 1 ? 'y' : 'ies'} shown${nextBefore ? ', older ones after them' : ''}.`,
          ),
      nextBefore
        ? h(
            'button',
            {
              type: 'button',
              id: 'load-more-rollouts',
              'on:click': () => {
                this.pages++;
                void this.refresh();
              },
            },
            `Load ${CANARY_PAGE} more`,
          )
        : null,
    );
    if (canaries.length === 0) {
      patch(
        this.body,
        this.state
          ? h('p', {}, `No ${this.state} canary.`)
          : h(
              'p',
              {},
              'No canary yet. ',
              this.context.isAdmin ? 'Create one with POST /api/canaries (see /docs).' : '',
            ),
      );
      return;
    }
    patch(
      this.body,
      table(
        'Canaries, newest first. Planned share: the stage’s treatment weight; observed: the treatment’s share of users in the last verdict.',
        ['Flag', 'Variant', 'State', 'Stage', 'Planned share', 'Observed share', 'Time in stage', 'Last verdict'],
        canaries.map((canary) => [
          h('a', { href: `#/rollouts/${canary.id}`, 'data-canary': canary.id }, canary.flagKey),
          `${canary.variant} vs ${canary.controlVariant}`,
          h(
            'span',
            {},
            h('span', { class: `badge state-${canary.state}` }, stateWords(canary.state)),
            canary.stalled
              ? [
                  ' ',
                  h(
                    'span',
                    {
                      class: 'badge stalled',
                      title:
                        `no tick since ${time(canary.stalled.since)}` +
                        (canary.stalled.lastFailure ? `; the last failed: ${canary.stalled.lastFailure.reason}` : ''),
                    },
                    'stalled',
                  ),
                ]
              : null,
          ),
          stageCell(canary),
          shareCell(canary),
          observedShare(canary),
          canary.endedAt
            ? `ended ${time(canary.endedAt)}`
            : canary.stage
              ? `${duration(canary.stage.elapsedSeconds)}${canary.stage.durationSeconds > 0 ? ` of ${duration(canary.stage.durationSeconds)}` : ''}${canary.state === 'paused' ? ' (paused)' : ''}`
              : dash,
          canary.lastVerdict
            ? h(
                'span',
                { class: 'sentence' },
                canary.lastVerdict.sentence ?? canary.lastVerdict.outcome,
                h('br'),
                h('span', { class: 'muted' }, time(canary.lastVerdict.at)),
              )
            : dash,
        ]),
        { id: 'rollouts-table' },
        canaries.map((canary) => canary.id),
      ),
    );
  }

  /** What the reader asks to see; a refresh draws only if it still is when its answers come. */
  private asked(): string {
    return `${this.state}\n${this.pages}`;
  }

  /** The canaries of the pages loaded so far, one request per page, following the API's cursor. */
  private async loadCanaries(): Promise<{ canaries: Canary[]; nextBefore: string | null }> {
    const canaries: Canary[] = [];
    let before: string | undefined;
    for (let page = 0; page < this.pages; page++) {
      const answer = await api<{ items: Canary[]; nextBefore: string | null }>(
        `/api/canaries${query({ state: this.state || undefined, limit: CANARY_PAGE, before })}`,
      );
      canaries.push(...answer.items);
      if (answer.nextBefore === null) return { canaries, nextBefore: null };
      before = answer.nextBefore;
    }
    return { canaries, nextBefore: before ?? null };
  }
}

export function observedShare(canary: Canary): string {
  const units = canary.lastVerdict?.srm?.units;
  if (!units || units.treatment + units.control === 0) return dash;
  return pct(units.treatment / (units.treatment + units.control));
}
