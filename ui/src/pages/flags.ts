import { api, query } from '../api';
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

/** Flags asked for at a time: the API's default page. */
export const FLAG_PAGE = 50;

/**
 * The policy map, each flag's variants and weights, and its history as a readable diff per change.
 * Flags come a page at a time from the API, which also searches them and leaves archived ones out
 * unless the reader asks: with hundreds of flags the page stays short.
 */
export class FlagsPage implements Page {
  readonly title = 'Flags & policies';
  private policies!: HTMLElement;
  private flags!: HTMLElement;
  private more!: HTMLElement;
  /** Histories the reader opened: kept open (and refreshed) across polls. */
  private readonly open = new Set<string>();
  private search = '';
  private withArchived = false;
  /** Pages the reader has loaded ("Load more"): each poll asks for as many again. */
  private pages = 1;

  constructor(_context: Context) {}

  mount(root: HTMLElement): void {
    this.policies = h('div', { id: 'policy-map' });
    this.flags = h('div', { id: 'flags' });
    this.more = h('div', { id: 'flags-more' });
    const search = h('input', {
      type: 'search',
      id: 'flag-search',
      autocomplete: 'off',
      'aria-describedby': 'flag-search-help',
      'on:input': (event: Event) => {
        this.search = (event.target as HTMLInputElement).value.trim();
        this.pages = 1;
        void this.refresh();
      },
    });
    const archived = h('input', {
      type: 'checkbox',
      id: 'show-archived',
      'on:change': (event: Event) => {
        this.withArchived = (event.target as HTMLInputElement).checked;
        this.pages = 1;
        void this.refresh();
      },
    });
    root.append(
      h('h2', {}, 'Flags & policies'),
      section('Policy map', 'policies', this.policies),
      section(
        'Flags',
        'flag-list',
        h(
          'form',
          { role: 'search', class: 'flag-filters', 'on:submit': (event: Event) => event.preventDefault() },
          h('label', { for: 'flag-search' }, 'Search flags'),
          search,
          h('span', { id: 'flag-search-help', class: 'muted' }, 'Words of a key or a description'),
          h('label', { class: 'muted' }, archived, ' also show archived flags'),
        ),
        this.flags,
        this.more,
      ),
    );
  }

  async refresh(): Promise<void> {
    const asked = this.asked();
    const [map, list] = await Promise.all([api<{ policies: Policy[] }>('/api/policies'), this.loadFlags()]);
    // The reader changed the search meanwhile: the refresh that change started draws its own answer.
    if (this.asked() !== asked) return;
    const { flags, nextAfter } = list;
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
    if (this.asked() !== asked) return;
    patch(
      this.flags,
      flags.length === 0
        ? h('p', {}, this.search ? `No flag matches “${this.search}”.` : 'No flag yet.')
        : flags.map((flag, index) => this.flagPanel(flag, histories[index])),
    );
    patch(
      this.more,
      flags.length === 0
        ? null
        : h(
            'p',
            { class: 'muted', id: 'flags-shown' },
            `${count(flags.length)} flag${flags.length === 1 ? '' : 's'} shown${nextAfter ? ', more after them' : ''}.`,
          ),
      nextAfter
        ? h(
            'button',
            {
              type: 'button',
              id: 'load-more-flags',
              'on:click': () => {
                this.pages++;
                void this.refresh();
              },
            },
            `Load ${FLAG_PAGE} more`,
          )
        : null,
    );
  }

  /** What the reader asks to see; a refresh draws only if it still is when its answers come. */
  private asked(): string {
    return `${this.search}\n${this.withArchived}\n${this.pages}`;
  }

  /** The flags of the pages loaded so far, one request per page, following the API's cursor. */
  private async loadFlags(): Promise<{ flags: Flag[]; nextAfter: string | null }> {
    const flags: Flag[] = [];
    let after: string | undefined;
    for (let page = 0; page < this.pages; page++) {
      const answer = await api<{ items: Flag[]; nextAfter: string | null }>(
        `/api/flags${query({
          search: this.search || undefined,
          archived: this.withArchived ? 'all' : undefined,
          limit: FLAG_PAGE,
          after,
        })}`,
      );
      flags.push(...answer.items);
      if (answer.nextAfter === null) return { flags, nextAfter: null };
      after = answer.nextAfter;
    }
    return { flags, nextAfter: after ?? null };
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
