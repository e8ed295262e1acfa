import { api } from '../api';
import { shareCell, stageCell, stateWords } from '../canary-words';
import { h, patch, table } from '../dom';
import { dash, duration, pct, time } from '../format';
import type { Context, Page } from '../main';
import type { Canary } from '../types';

/** Every canary: state, stage, planned and observed treatment share, time in stage, the last verdict. */
export class RolloutsPage implements Page {
  readonly title = 'Rollouts';
  private body!: HTMLElement;

  constructor(private readonly context: Context) {}

  mount(root: HTMLElement): void {
    this.body = h('div', { id: 'rollouts' }, h('p', { class: 'muted' }, 'Loading…'));
    root.append(h('h2', {}, 'Rollouts'), this.body);
  }

  async refresh(): Promise<void> {
    const canaries = await api<Canary[]>('/api/canaries');
    if (canaries.length === 0) {
      patch(
        this.body,
        h('p', {}, 'No canary yet. ', this.context.isAdmin ? 'Create one with POST /api/canaries (see /docs).' : ''),
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
}

export function observedShare(canary: Canary): string {
  const units = canary.lastVerdict?.srm?.units;
  if (!units || units.treatment + units.control === 0) return dash;
  return pct(units.treatment / (units.treatment + units.control));
}
