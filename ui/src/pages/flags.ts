import { api } from '../api';
import { h, patch, section, table, type Child } from '../dom';
import { count, dash, pct, time, usd } from '../format';
import type { Context, Page } from '../main';
import { changesOf, weightsOf, type Flag, type HistoryEntry } from '../history';

interface Policy {
  name: string;
  strategy: { name: string; summary: string };
  defaultModel: { id: string };
  fallback: string[];
  flagKey: string;
  flag: { enabled: boolean; version: number; defaultVariant: string; rules: number } | null;
  variants: Array<{
    name: string;
    model: string;
    default: boolean;
    weight: number;
    lastHour: { requests: number; costUsd: number; share: number };
  }>;
  canary: { id: string; variant: string; state: string; percentage: number | null } | null;
  lastHour: { requests: number; costUsd: number };
}

/** The policy map, each flag's variants and weights, and its history as a readable diff per change. */
export class FlagsPage implements Page {
  readonly title = 'Flags & policies';
  private policies!: HTMLElement;
  private flags!: HTMLElement;
  /** Histories the reader opened: kept open (and refreshed) across polls. */
  private readonly open = new Set<string>();

  constructor(_context: Context) {}

  mount(root: HTMLElement): void {
    this.policies = h('div', { id: 'policy-map' });
    this.flags = h('div', { id: 'flags' });
    root.append(
      h('h2', {}, 'Flags & policies'),
      section('Policy map', 'policies', this.policies),
      section('Flags', 'flag-list', this.flags),
    );
  }

  async refresh(): Promise<void> {
    const [map, { items: flags }] = await Promise.all([
      api<{ policies: Policy[] }>('/api/policies'),
      api<{ items: Flag[] }>('/api/flags?archived=all&limit=200'),
    ]);
    patch(
      this.policies,
      table(
        'Each use-case policy: how it routes, the flag it reads, its variants with their weight now and last hour’s traffic',
        [
          'Policy',
          'Strategy',
          'Default model, fallback',
          'Flag',
          'Variants (weight · last hour)',
          'Canary',
          'Last hour',
        ],
        map.policies.map((policy) => [
          policy.name,
          h('span', { title: policy.strategy.summary }, policy.strategy.name),
          `${policy.defaultModel.id}${policy.fallback.length ? ` → ${policy.fallback.join(' → ')}` : ''}`,
          policy.flag
            ? `${policy.flagKey} v${policy.flag.version}${policy.flag.enabled ? '' : ' (killed)'}`
            : `${policy.flagKey} (none)`,
          policy.variants.length
            ? h(
                'ul',
                {},
                policy.variants.map((variant) =>
                  h(
                    'li',
                    {},
                    `${variant.name} → ${variant.model}: ${variant.weight}%${variant.default ? ' (default)' : ''} · ${count(variant.lastHour.requests)} req, ${pct(variant.lastHour.share)}`,
                  ),
                ),
              )
            : dash,
          policy.canary
            ? h(
                'a',
                { href: `#/rollouts/${policy.canary.id}` },
                `${policy.canary.variant} ${policy.canary.state}${policy.canary.percentage !== null ? ` at ${policy.canary.percentage}%` : ''}`,
              )
            : dash,
          `${count(policy.lastHour.requests)} req · ${usd(policy.lastHour.costUsd)}`,
        ]),
        { id: 'policy-table' },
        map.policies.map((policy) => policy.name),
      ),
    );
    const histories = await Promise.all(
      flags.map(async (flag) =>
        this.open.has(flag.key)
          ? (await api<{ items: HistoryEntry[] }>(`/api/flags/${encodeURIComponent(flag.key)}/history?limit=50`)).items
          : null,
      ),
    );
    patch(
      this.flags,
      flags.length === 0
        ? h('p', {}, 'No flag yet.')
        : flags.map((flag, index) => this.flagPanel(flag, histories[index])),
    );
  }

  private flagPanel(flag: Flag, history: HistoryEntry[] | null): HTMLElement {
    const toggle = h(
      'button',
      {
        type: 'button',
        'aria-expanded': history ? 'true' : 'false',
        'data-history': flag.key,
        'on:click': () => {
          if (this.open.has(flag.key)) this.open.delete(flag.key);
          else this.open.add(flag.key);
          void this.refresh().then(() =>
            (this.flags.querySelector(`[data-history="${CSS.escape(flag.key)}"]`) as HTMLElement | null)?.focus(),
          );
        },
      },
      history ? 'Hide history' : 'Show history',
    );
    return h(
      'article',
      { class: 'panel', 'data-flag': flag.key, 'data-key': flag.key },
      h(
        'h4',
        {},
        `${flag.key} `,
        h(
          'span',
          { class: 'muted' },
          `v${flag.version}${flag.archivedAt ? ' · archived' : flag.enabled ? '' : ' · killed'}${flag.policy ? ` · policy ${flag.policy}` : ''}`,
        ),
      ),
      flag.archivedAt
        ? h(
            'p',
            { class: 'archived' },
            `Archived ${time(flag.archivedAt)}: it serves no request and takes no change; its history stays.`,
          )
        : null,
      flag.description ? h('p', { class: 'muted' }, flag.description) : null,
      table(
        'Variants and weights',
        ['Variant', 'Model', 'Weight (the default variant gets what the rollout leaves)'],
        Object.entries(flag.variants).map(([name, value]) => [
          `${name}${name === flag.defaultVariant ? ' (default)' : ''}`,
          typeof value === 'string' ? value : value.model,
          `${weightsOf(flag)[name]}%`,
        ]),
      ),
      h('p', {}, toggle),
      history ? this.historyList(history) : null,
    );
  }

  private historyList(history: HistoryEntry[]): HTMLElement {
    return h(
      'ol',
      { class: 'log diff', 'aria-label': 'Changes, newest first' },
      history.map((entry) => {
        const changes = changesOf(entry);
        const lines: Child[] = changes.length
          ? changes.map((change) =>
              h(
                'div',
                {},
                h('strong', {}, `${change.field}: `),
                change.before ? h('del', {}, change.before) : null,
                change.before ? ' → ' : null,
                h('ins', {}, change.after),
              ),
            )
          : [h('div', { class: 'muted' }, entry.action === 'note' ? 'the flag did not change' : 'no field changed')];
        return h(
          'li',
          { 'data-history-id': entry.id, 'data-action': entry.action, 'data-key': entry.id },
          h(
            'div',
            { class: 'meta' },
            `${time(entry.at)} · v${entry.version} · ${entry.action} · ${entry.source} · ${entry.actor}`,
          ),
          ...lines,
          h('div', { class: 'reason' }, entry.reason ? `Reason: ${entry.reason}` : 'No reason given'),
        );
      }),
    );
  }
}
