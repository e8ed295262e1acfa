import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * The worker's code, evaluated rather than loaded from a file, so that the same code runs from
 * dist/ (CommonJS) and from the TypeScript sources under jest (ES modules, no .js file beside it).
 * It loads the tokenizer from the absolute path the main thread resolved, and counts every chunk of
 * a batch on its own. Special tokens' text (`<|endoftext|>`) counts as the ordinary text it is in a
 * user's message: the tokenizer's default would throw on it.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { countTokens } = require(workerData.tokenizer);
const ORDINARY = { disallowedSpecial: new Set() };
parentPort.on('message', ({ id, chunks }) => {
  try {
    const counts = new Uint32Array(chunks.length);
    for (let i = 0; i < chunks.length; i++) counts[i] = countTokens(chunks[i], ORDINARY);
    parentPort.postMessage({ id, counts }, [counts.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.name : 'Error' });
  }
});
`;

/**
 * The worker's heap is the vocabulary (~15 MB live) plus a batch's strings: a tokenizer gone wrong runs
 * out of this and dies (and the prompt goes through) instead of growing the process without bound.
 */
const WORKER_HEAP_MB = 256;

/**
 * A batch (≤ 64 KB of chunks of ≤ 256 characters) counts in milliseconds, and the worker starts in
 * ~150 ms: a count still unanswered after this means a tokenizer stuck in a loop (or a backlog that
 * long, which failing open sheds). Its worker is stopped and the counts in flight fail, as if it had
 * died, rather than holding their requests forever.
 */
const COUNT_TIMEOUT_MS = 10_000;

/**
 * After a worker fails, no new one starts for this long, doubled for each failure in a row up to
 * MAX_RESTART_BACKOFF_MS; the first count answered resets it. A tokenizer that cannot load (a broken
 * install) would otherwise cost a worker start (~150 ms of CPU) for every prompt that needs counting;
 * meanwhile those prompts go through uncounted, as during any failure.
 */
const RESTART_BACKOFF_MS = 1_000;
const MAX_RESTART_BACKOFF_MS = 60_000;

/** The count could not be had: the tokenizer failed to load, died, or the counter was closed. */
export class TokenizerUnavailable extends Error {
  constructor(reason: string) {
    super(`the tokenizer is unavailable: ${reason}`);
    this.name = 'TokenizerUnavailable';
  }
}

export interface TokenCounterStats {
  /** Whether a worker is running (or starting) now. */
  running: boolean;
  /** Workers started since the process started: 0 until a prompt first needed counting. */
  starts: number;
  /** Workers that failed to load or died, and batches the tokenizer threw on. */
  failures: number;
}

/** Where failures are told (the context guard's Nest logger). */
export interface WarningLog {
  warn(message: string): void;
}

interface Pending {
  resolve: (counts: Uint32Array) => void;
  reject: (error: Error) => void;
  watchdog: NodeJS.Timeout;
}

/** Where the o200k tokenizer's CommonJS entry is: beside this file in dist/, from the project's root under jest. */
export function o200kTokenizerPath(): string {
  const from = typeof __filename === 'string' ? __filename : join(process.cwd(), 'package.json');
  return createRequire(from).resolve('gpt-tokenizer/encoding/o200k_base');
}

/**
 * Counts o200k tokens in a worker thread, so that neither the vocabulary's ~15 MB of live Maps (which
 * every major GC of the main thread would otherwise mark) nor the counting itself is on the event
 * loop. The worker starts on the first count asked for, not before (a gateway whose prompts bytes
 * always settle never loads the tokenizer), and is kept. Counts asked for while it loads (~150 ms)
 * queue in its message port: the event loop stays free meanwhile.
 *
 * A worker that cannot load, dies, or leaves a count unanswered for COUNT_TIMEOUT_MS (it is then
 * stopped) fails every count in flight with TokenizerUnavailable (one warning, one failure counted),
 * and the first count after a backoff (RESTART_BACKOFF_MS, doubled for each failure in a row) starts
 * a new one; counts before it fail at once. The worker keeps the process
 * alive only while it owes a count: an idle one never does, and the app terminates it on shutdown.
 */
export class TokenCounter {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private starts = 0;
  private failures = 0;
  private failuresInARow = 0;
  /** Epoch ms before which no worker starts (after a failure). */
  private noStartBefore = 0;

  /** `now`: the clock the restart backoff is read with (a test's manual clock). */
  constructor(
    private readonly logger: WarningLog,
    private readonly tokenizerPath: () => string = o200kTokenizerPath,
    private readonly countTimeoutMs = COUNT_TIMEOUT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get stats(): TokenCounterStats {
    return { running: this.worker !== undefined, starts: this.starts, failures: this.failures };
  }

  /** The tokens of each chunk (each ≤ 256 characters; a batch of up to ~64 KB), in order. */
  readonly count = (chunks: readonly string[]): Promise<Uint32Array> => {
    if (chunks.length === 0) return Promise.resolve(new Uint32Array(0));
    let worker: Worker;
    if (!this.worker) {
      const waitMs = this.noStartBefore - this.now();
      if (waitMs > 0) {
        return Promise.reject(
          new TokenizerUnavailable(
            `its worker failed ${this.failuresInARow} time(s) in a row; the next starts in ${Math.ceil(waitMs / 1000)} s`,
          ),
        );
      }
    }
    try {
      worker = this.worker ?? this.start();
    } catch (error) {
      this.failed(undefined, error);
      return Promise.reject(new TokenizerUnavailable('its worker could not start'));
    }
    const id = this.nextId++;
    // Kept alive while it owes an answer (a script's count is not lost), never while idle.
    if (this.pending.size === 0) worker.ref();
    return new Promise<Uint32Array>((resolve, reject) => {
      const watchdog = setTimeout(
        () => this.failed(worker, new Error(`it gave no count within ${this.countTimeoutMs} ms`)),
        this.countTimeoutMs,
      );
      watchdog.unref();
      this.pending.set(id, { resolve, reject, watchdog });
      worker.postMessage({ id, chunks });
    });
  };

  /** Stops the worker; counts in flight fail with TokenizerUnavailable. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    this.rejectPending(new TokenizerUnavailable('the gateway is shutting down'));
    await worker.terminate();
  }

  private start(): Worker {
    this.starts++;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { tokenizer: this.tokenizerPath() },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      // The parent's flags are for the gateway (jest's, or npm start's heap sizes), not for this thread.
      execArgv: [],
    });
    worker.on('message', (message: { id: number; counts?: Uint32Array; error?: string }) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      clearTimeout(pending.watchdog);
      this.pending.delete(message.id);
      if (this.pending.size === 0) worker.unref();
      if (message.counts) {
        this.failuresInARow = 0;
        return pending.resolve(message.counts);
      }
      this.failures++;
      this.logger.warn(`the tokenizer threw ${message.error} on a prompt: it goes through uncounted`);
      pending.reject(new TokenizerUnavailable(`it threw ${message.error}`));
    });
    worker.on('error', (error) => this.failed(worker, error));
    worker.on('exit', (code) => this.failed(worker, new Error(`its worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** Once per worker (its 'error' is followed by 'exit'); a worker closed on purpose is no failure. */
  private failed(worker: Worker | undefined, error: unknown): void {
    if (worker && worker !== this.worker) return;
    this.worker = undefined;
    this.failures++;
    this.failuresInARow++;
    const backoffMs = Math.min(MAX_RESTART_BACKOFF_MS, RESTART_BACKOFF_MS * 2 ** (this.failuresInARow - 1));
    this.noStartBefore = this.now() + backoffMs;
    const reason = error instanceof Error ? error.message : String(error);
    this.logger.warn(
      `the tokenizer's worker failed (${reason}): prompts go through uncounted; ` +
        `the first to need counting after ${backoffMs / 1000} s starts a new worker`,
    );
    this.rejectPending(new TokenizerUnavailable(reason));
    void worker?.terminate();
  }

  private rejectPending(error: TokenizerUnavailable): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const { reject, watchdog } of pending) {
      clearTimeout(watchdog);
      reject(error);
    }
  }
}
