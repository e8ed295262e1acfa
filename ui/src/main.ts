import { api, ApiError, session, Unreachable, whenUnauthenticated, type Identity } from './api';
import { fill, h } from './dom';
import { clockTime } from './format';
import { AlertsPage } from './pages/alerts';
import { FlagsPage } from './pages/flags';
import { RolloutPage } from './pages/rollout';
import { RolloutsPage } from './pages/rollouts';
import { TrafficPage } from './pages/traffic';

/** How often the shown page asks the API again: live enough to watch a tick, light on the gateway. */
export const POLL_MS = 3000;

export interface Page {
  title: string;
  /**
   * Builds the page's frame once; refresh fills in the data (first time and every poll), and says
   * 'done' when there will never be more to show (a canary that does not exist): the polls stop.
   */
  mount(root: HTMLElement): void;
  refresh(): Promise<void | 'done'>;
  destroy?(): void;
}

export interface Context {
  identity: Identity;
  isAdmin: boolean;
  /** A message in the status line (errors in red), e.g. after an action. */
  say(message: string, error?: boolean): void;
}

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
/** News (updates failing, and since when): a live region, read out when its text changes. */
const status = document.getElementById('status')!;
/** When the data was last updated: outside the live region, or it would be read out at every poll. */
const updated = document.getElementById('updated')!;

let page: Page | null = null;
let timer: number | undefined;
let context: Context | null = null;
let refreshes = 0;
let polls = 0;
/** When the shown page last got its data; since when its updates fail (null while they work). */
let shownAt: Date | null = null;
let failingSince: Date | null = null;

function say(message: string, error = false): void {
  if (status.textContent !== message) status.textContent = message;
  status.classList.toggle('error', error);
}

function route(ctx: Context): Page {
  const path = location.hash.replace(/^#/, '') || '/rollouts';
  const rollout = /^\/rollouts\/([0-9a-f-]{36})$/.exec(path);
  if (rollout) return new RolloutPage(ctx, rollout[1]);
  if (path === '/flags') return new FlagsPage(ctx);
  if (path === '/traffic') return new TrafficPage(ctx);
  if (path === '/alerts') return new AlertsPage(ctx);
  return new RolloutsPage(ctx);
}

async function show(): Promise<void> {
  if (!context) return;
  window.clearTimeout(timer);
  page?.destroy?.();
  page = route(context);
  const current = page;
  document.title = `${page.title} · Switchyard control room`;
  for (const link of nav.querySelectorAll('a')) {
    const active =
      location.hash.startsWith(link.getAttribute('href')!) || (!location.hash && link.hash === '#/rollouts');
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  fill(main);
  shownAt = null;
  main.classList.remove('stale');
  page.mount(main);
  await poll(current, location.hash || '#/rollouts');
}

/**
 * Refreshes the page now and again every POLL_MS, until another page is shown. `data-page` says whose
 * data `main` holds: a refresh of the page being left can finish after the hash changed.
 */
async function poll(current: Page, hash: string): Promise<void> {
  // A tab nobody looks at asks nothing; it catches up as soon as it is shown again.
  if (document.hidden) {
    document.addEventListener('visibilitychange', () => void (page === current && poll(current, hash)), {
      once: true,
    });
    return;
  }
  let again = true;
  try {
    again = (await current.refresh()) !== 'done';
    if (page !== current) return;
    refreshes++;
    main.setAttribute('data-refreshes', String(refreshes));
    main.setAttribute('data-page', hash);
    shownAt = new Date();
    failingSince = null;
    main.classList.remove('stale');
    say('');
    updated.textContent = `Updated ${clockTime(shownAt)}${again ? ` · every ${POLL_MS / 1000} s` : ''}`;
  } catch (error) {
    if (page !== current) return;
    // Said once, when it starts: the words stay the same while it lasts, so it is read out once.
    failingSince ??= new Date();
    main.classList.toggle('stale', shownAt !== null);
    const failure =
      error instanceof Unreachable
        ? `Gateway unreachable since ${clockTime(failingSince)}`
        : `Could not update since ${clockTime(failingSince)} (${error instanceof Error ? error.message : String(error)})`;
    say(`${failure}; ${shownAt ? `showing data from ${clockTime(shownAt)}` : 'nothing shown yet'}.`, true);
  }
  main.setAttribute('data-polls', String(++polls));
  if (again && page === current) timer = window.setTimeout(() => void poll(current, hash), POLL_MS);
}

/** Back to the sign-in form: the shown page stops, and with it its polls (`message` says why). */
function signOut(message?: string): void {
  session.clear();
  context = null;
  page?.destroy?.();
  page = null;
  window.clearTimeout(timer);
  failingSince = null;
  main.classList.remove('stale');
  showSignIn(message);
}

function showSignIn(message?: string): void {
  nav.hidden = true;
  fill(who);
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'off',
    required: true,
    'aria-describedby': 'api-key-help',
  });
  const error = h('p', { class: 'error-text', role: 'alert' }, message ?? '');
  const form = h(
    'form',
    { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h2', { id: 'signin-title' }, 'Sign in'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h(
      'p',
      { id: 'api-key-help', class: 'muted' },
      'A key with the read scope shows everything; an admin key also acts on canaries. ',
      'It is kept in this tab only (sessionStorage) and sent to this gateway alone.',
    ),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    const wrong = !key ? 'Type or paste your API key: the field is empty.' : notAKey(key);
    if (wrong) {
      error.textContent = wrong;
      input.focus();
      return;
    }
    void signIn(key).catch((failure: unknown) => {
      error.textContent =
        failure instanceof ApiError && failure.status === 401
          ? 'This key is unknown or revoked.'
          : failure instanceof ApiError && failure.status === 403
            ? 'This key lacks the read scope: ask for a read or admin key.'
            : `Could not sign in: ${failure instanceof Error ? failure.message : String(failure)}`;
    });
  });
  fill(main, form);
  say('');
  updated.textContent = '';
  input.focus();
}

/**
 * Why `key` cannot be a key, if it cannot: keys are printable ASCII without spaces (generated ones
 * and SWITCHYARD_ADMIN_KEY alike), and a header could not even carry other characters.
 */
function notAKey(key: string): string | null {
  return /^[\x21-\x7e]+$/.test(key)
    ? null
    : 'That is not a Switchyard key: a key has only letters, digits and ASCII signs, without spaces (e.g. sy_k3j5n2m8q1_…).';
}

async function signIn(key: string): Promise<void> {
  const identity = await api<Identity>('/api/keys/me', { key });
  session.save(key);
  start(identity);
}

function start(identity: Identity): void {
  const isAdmin = identity.scopes.includes('admin');
  context = { identity, isAdmin, say };
  nav.hidden = false;
  fill(
    who,
    h('span', { id: 'identity' }, `${identity.name} · ${isAdmin ? 'admin' : 'read only'}`),
    h('button', { type: 'button', 'on:click': () => signOut() }, 'Sign out'),
  );
  void show();
}

whenUnauthenticated(() => {
  // The requests of one poll may each come back 401: the first signs out, the others find it done.
  if (context) signOut('The key stopped working (revoked?): sign in again.');
});
window.addEventListener('hashchange', () => void show());
document.getElementById('skip')!.addEventListener('click', () => main.focus());

const saved = session.key();
if (saved) {
  api<Identity>('/api/keys/me')
    .then(start)
    .catch(() => showSignIn());
} else {
  showSignIn();
}
