/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser, with its globals.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium package (apt-get install chromium); CHROMIUM_PATH for another one. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(process.cwd(), 'test', 'browser', 'artifacts');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  await mkdir(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** How often the control room polls (POLL_MS in ui/src/main.ts). */
export const POLL_MS = 3000;

export interface PageOptions {
  viewport?: { width: number; height: number };
  /**
   * The browser's clock held at this time (Playwright's fake clock): the page polls only when the
   * test moves it (`tick`, `refresh`), and its `/api` calls are recorded (`apiCalls`), so a test can
   * tell that a poll did not happen without waiting to see.
   */
  heldClock?: Date;
  timezoneId?: string;
  locale?: string;
  /** Records the text the page's charts draw on their canvases (`canvasText`). */
  canvasText?: boolean;
}

/** A text a chart drew on its canvas: where, aligned how, how wide, in which chart (its figure's data-metric). */
export interface CanvasText {
  text: string;
  x: number;
  y: number;
  align: CanvasTextAlign;
  width: number;
  canvasWidth: number;
  /** The canvas it is on: 0 for the page's first, and so on. */
  canvas: number;
  metric: string | null;
}

/** A page in a fresh context (its own sessionStorage) that records every console error and page error. */
export class WatchedPage {
  readonly errors: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('console', (message) => {
      if (message.type() === 'error') this.errors.push(`console: ${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => this.errors.push(`page error: ${error.message}`));
  }

  static async open(browser: Browser, options: PageOptions = {}): Promise<WatchedPage> {
    const { viewport = DESKTOP, heldClock, timezoneId, locale, canvasText } = options;
    const context = await browser.newContext({ viewport, timezoneId, locale });
    if (canvasText)
      await context.addInitScript(() => {
        // Per canvas, what it shows now: a chart clears its whole canvas before it draws again.
        const drawn = new Map<HTMLCanvasElement, unknown[]>();
        (window as unknown as { canvasText: () => unknown[] }).canvasText = () => [...drawn.values()].flat();
        const { clearRect, fillText } = CanvasRenderingContext2D.prototype;
        CanvasRenderingContext2D.prototype.clearRect = function (x, y, width, height) {
          if (x <= 0 && y <= 0 && width >= this.canvas.width && height >= this.canvas.height)
            drawn.set(this.canvas, []);
          return clearRect.call(this, x, y, width, height);
        };
        CanvasRenderingContext2D.prototype.fillText = function (text, x, y, maxWidth) {
          if (!drawn.has(this.canvas)) drawn.set(this.canvas, []);
          drawn.get(this.canvas)!.push({
            canvas: [...document.querySelectorAll('canvas')].indexOf(this.canvas),
            text,
            x,
            y,
            align: this.textAlign,
            width: this.measureText(text).width,
            canvasWidth: this.canvas.width,
            metric: this.canvas.closest('figure')?.getAttribute('data-metric') ?? null,
          });
          return fillText.call(this, text, x, y, maxWidth);
        };
      });
    if (heldClock) {
      await context.clock.install({ time: heldClock });
      await context.clock.pauseAt(heldClock);
      await context.addInitScript(() => {
        const calls: string[] = [];
        (window as unknown as { apiCalls: string[] }).apiCalls = calls;
        const original = window.fetch.bind(window);
        window.fetch = (input, init) => {
          const url = String(input instanceof Request ? input.url : input);
          if (new URL(url, location.href).pathname.startsWith('/api/')) calls.push(url);
          return original(input, init);
        };
      });
    }
    return new WatchedPage(context, await context.newPage());
  }

  /**
   * The `/api` requests the page has started so far (a page on a held clock). A poll starts its
   * requests as its timer fires, so after `tick` they are all here.
   */
  async apiCalls(): Promise<string[]> {
    return this.page.evaluate(() => [...(window as unknown as { apiCalls: string[] }).apiCalls]);
  }

  /** The texts the charts show now (a page opened with `canvasText`). */
  async canvasText(): Promise<CanvasText[]> {
    return this.page.evaluate(() => (window as unknown as { canvasText: () => CanvasText[] }).canvasText());
  }

  /** Moves the held clock on (one poll period by default), running the timers due meanwhile. */
  async tick(ms = POLL_MS): Promise<void> {
    await this.page.clock.runFor(ms);
  }

  /** Goes to a page of the control room by its hash and waits for its first poll to end, answered or not. */
  async go(hash: string): Promise<void> {
    const before = Number((await this.page.locator('main').getAttribute('data-polls')) ?? 0);
    await this.page.evaluate((target) => (location.hash = target), hash);
    await this.page.waitForFunction(
      (count) => Number(document.querySelector('main')?.getAttribute('data-polls') ?? 0) > count,
      before,
    );
  }

  /**
   * Moves the held clock one poll period on, and waits for that poll to end (`data-polls` on main
   * counts those that ended, answered or not).
   */
  async poll(): Promise<void> {
    const before = Number((await this.page.locator('main').getAttribute('data-polls')) ?? 0);
    await this.tick();
    await this.page.waitForFunction(
      (count) => Number(document.querySelector('main')?.getAttribute('data-polls') ?? 0) > count,
      before,
    );
  }

  /** Moves the held clock one poll period on, and waits for the poll to show its data. */
  async refresh(): Promise<void> {
    const before = Number((await this.page.locator('main').getAttribute('data-refreshes')) ?? 0);
    await this.tick();
    await this.page.waitForFunction(
      (count) => Number(document.querySelector('main')?.getAttribute('data-refreshes') ?? 0) > count,
      before,
    );
  }

  /** Opens the bare URL (which leads to /ui) and signs in with `key`. */
  async signIn(baseUrl: string, key: string): Promise<void> {
    await this.page.goto(`${baseUrl}/`);
    await this.page.getByLabel('API key').fill(key);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
    await this.page.locator('#identity').waitFor();
  }

  /**
   * Goes to a page of the control room by its hash and waits for its first data: a refresh of that
   * page, not one of the page being left that finished after the hash changed.
   */
  async show(hash: string): Promise<void> {
    const before = Number((await this.page.locator('main').getAttribute('data-refreshes')) ?? 0);
    await this.page.evaluate((target) => (location.hash = target), hash);
    await this.page.waitForFunction(
      ({ count, target }) => {
        const main = document.querySelector('main');
        return Number(main?.getAttribute('data-refreshes') ?? 0) > count && main?.getAttribute('data-page') === target;
      },
      { count: before, target: hash },
    );
  }

  /** The whole page, or its top `height` pixels (the README's picture: docs/img/rollout.png). */
  async screenshot(name: string, height?: number): Promise<void> {
    const clip = height ? { x: 0, y: 0, width: this.page.viewportSize()!.width, height } : undefined;
    await this.page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true, clip });
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/** One spec's browser and every page it opened, signed in, for the console-error check at its end. */
export class BrowserSession {
  private readonly pages: WatchedPage[] = [];

  private constructor(private readonly browser: Browser) {}

  static async launch(): Promise<BrowserSession> {
    return new BrowserSession(await launchChromium());
  }

  /** A new page at `baseUrl`, signed in with `key`. */
  async open(baseUrl: string, key: string, options?: PageOptions): Promise<WatchedPage> {
    const page = await this.blank(options);
    await page.signIn(baseUrl, key);
    return page;
  }

  /** A new page, not signed in and on no address yet. */
  async blank(options?: PageOptions): Promise<WatchedPage> {
    const page = await WatchedPage.open(this.browser, options);
    this.pages.push(page);
    return page;
  }

  /** Every console and page error any page of the session has logged so far. */
  errors(): string[] {
    return this.pages.flatMap((page) => page.errors);
  }

  async close(): Promise<void> {
    for (const page of this.pages) await page.close().catch(() => undefined);
    await this.browser.close();
  }
}
