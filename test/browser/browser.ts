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

  static async open(browser: Browser, viewport = DESKTOP): Promise<WatchedPage> {
    const context = await browser.newContext({ viewport });
    return new WatchedPage(context, await context.newPage());
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
  async open(baseUrl: string, key: string, viewport?: { width: number; height: number }): Promise<WatchedPage> {
    const page = await WatchedPage.open(this.browser, viewport);
    this.pages.push(page);
    await page.signIn(baseUrl, key);
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
