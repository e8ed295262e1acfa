import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase } from './support/test-database';
import { startTestApp, writeTestCatalog, type TestApp, type TestCatalog } from './support/test-app';

const run = promisify(execFile);
const README = readFileSync('README.md', 'utf8');

/**
 * The README's shell blocks marked `<!-- example -->`, in order. They are what a newcomer pastes
 * into a terminal after `npm start`, so they run as written: the only changes are the admin key the
 * app printed in place of `sy_...`, and the ports this test was given in place of 3000 and 4010. The
 * app runs on a catalog file of its own, named by SWITCHYARD_CATALOG in the blocks' environment as
 * in the shell of someone who started it with one ("Add your use case" edits it).
 */
function examples(): string[] {
  return [...README.matchAll(/<!-- example -->\s*\n```(?:sh|bash)\n([\s\S]*?)\n```/g)].map((match) => match[1]);
}

/** GitHub's anchor for a heading: lower case, spaces to dashes, punctuation dropped. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}

describe('README: the marked examples work as written on a fresh start, and its links stay in the repo', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let printedKey: string;
  let workDir: string;
  let catalog: TestCatalog;

  beforeAll(async () => {
    database = await createTestDatabase();
    // A first start without SWITCHYARD_ADMIN_KEY prints the admin key once, as the README says.
    const printed: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
    try {
      catalog = await writeTestCatalog();
      app = await startTestApp({ databaseUrl: database.url, adminKey: null, catalog });
    } finally {
      console.log = log;
    }
    printedKey = /Switchyard created an admin API key: (\S+)/.exec(printed.join('\n'))?.[1] ?? '';
    workDir = await mkdtemp(join(tmpdir(), 'switchyard-readme-'));
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await database?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }, 30_000);

  it('runs every marked shell block in order, each ending without an error or an HTTP error', async () => {
    expect(printedKey).toMatch(/^sy_/);
    const blocks = examples();
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    const gateway = new URL(app.url);
    const simulator = new URL(app.simulatorUrl);
    for (const [index, block] of blocks.entries()) {
      const script = block
        .replaceAll('sy_...', printedKey)
        .replaceAll('localhost:3000', gateway.host)
        .replaceAll('localhost:4010', simulator.host);
      // curl answers 0 for a 4xx or 5xx unless told otherwise: here every answer must be a success.
      const strict = `set -euo pipefail\ncurl() { command curl --fail-with-body -sS "$@"; }\n${script}\n`;
      const result = await run('bash', ['-c', strict], {
        cwd: workDir,
        env: { ...process.env, SWITCHYARD_KEY: printedKey, SWITCHYARD_CATALOG: catalog.path },
        timeout: 30_000,
      }).then(
        () => null,
        (error: { code?: number; stdout?: string; stderr?: string }) =>
          `block ${index + 1} failed (exit ${error.code}):\n${block}\n--- stdout\n${error.stdout?.slice(-1500)}\n--- stderr\n${error.stderr?.slice(-1500)}`,
      );
      expect(result).toBeNull();
    }
  });

  it('links only to files and headings that exist in the repo', () => {
    const headings = new Set([...README.matchAll(/^#+ (.+)$/gm)].map((match) => anchorOf(match[1])));
    const problems: string[] = [];
    for (const [, target] of README.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:)/.test(target)) continue;
      if (target.startsWith('#')) {
        if (!headings.has(target.slice(1))) problems.push(`${target}: no such heading`);
      } else if (!existsSync(target.split('#')[0])) {
        problems.push(`${target}: no such file`);
      }
    }
    for (const [reference] of README.matchAll(/\.\.\/[\w./-]+/g)) problems.push(`${reference}: outside the repo`);
    expect(problems).toEqual([]);
  });
});
