import { api } from '../api';
import { h, patch, table } from '../dom';
import { count, dash, time } from '../format';
import type { Context, Page } from '../main';

interface Alert {
  id: string;
  type: string;
  severity: string;
  status: string;
  flag: string | null;
  canary: string | null;
  message: string;
  createdAt: string;
  webhook: { origin: string; source: string } | null;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  deliveredAt: string | null;
}

/** Recent alerts and how their delivery went (GET /api/alerts). */
export class AlertsPage implements Page {
  readonly title = 'Alerts';
  private body!: HTMLElement;

  constructor(_context: Context) {}

  mount(root: HTMLElement): void {
    this.body = h('div', { id: 'alerts' }, h('p', { class: 'muted' }, 'Loading…'));
    root.append(h('h2', {}, 'Alerts'), this.body);
  }

  async refresh(): Promise<void> {
    const page = await api<{ items: Alert[] }>('/api/alerts?limit=100');
    patch(
      this.body,
      page.items.length === 0
        ? h('p', {}, 'No alert raised yet.')
        : table(
            'The 100 most recent alerts, newest first, with their webhook delivery',
            ['Raised', 'Type', 'Severity', 'Message', 'Delivery', 'Attempts', 'Last error'],
            page.items.map((alert) => [
              time(alert.createdAt),
              alert.type,
              alert.severity,
              h(
                'span',
                {},
                alert.message,
                alert.canary ? [' ', h('a', { href: `#/rollouts/${alert.canary}` }, 'rollout')] : null,
              ),
              h(
                'span',
                { class: `status-${alert.status}` },
                alert.status,
                alert.deliveredAt ? ` ${time(alert.deliveredAt)}` : '',
                alert.webhook
                  ? h('span', { class: 'muted' }, ` to ${alert.webhook.origin}`)
                  : h('span', { class: 'muted' }, ' (no webhook)'),
                alert.nextAttemptAt && alert.status !== 'delivered'
                  ? h('span', { class: 'muted' }, ` next try ${time(alert.nextAttemptAt)}`)
                  : '',
              ),
              count(alert.attempts),
              alert.lastError ?? dash,
            ]),
            { id: 'alerts-table' },
            page.items.map((alert) => alert.id),
          ),
    );
  }
}
