import { Worker } from 'node:worker_threads';

/** Where failures are told (a Nest logger, or a test's list). */
export interface WarningLog {
  warn(message: string): void;
}

export interface OffLoopWorkerStats {
  /** Whether a worker is running (or starting) now. */
  running: boolean;
  /** Workers started since the process started: 0 until the first task. */
  starts: number;
  /** Workers that failed to load or died, and tasks the worker's code threw on. */
  failures: number;
}

export interface OffLoopWorkerOptions {
  /** Names the work in warnings and errors: "the tokenizer". */
  name: string;
  /** What becomes of the work while no worker can do it, for the warnings: "prompts go through uncounted". */
  meanwhile: string;
  /**
   * The worker's code, evaluated rather than loaded from a file, so that the same code runs from
   * dist/ (CommonJS) and from the TypeScript sources under jest (ES modules, no .js file beside it).
   * It defines `handle(task)`, which returns `[result, transferList]` or throws; `workerData` and
   * `require` are in scope.
   */
  source: string;
  /** Read on each start (a path the main thread resolved, say). */
  workerData?: () => unknown;
  /** A worker gone wrong runs out of this and dies (its tasks fail) instead of growing the process without bound. */
  heapMb: number;
  /** A task still unanswered after this means code stuck in a loop: the worker is stopped and its tasks fail. */
  taskTimeoutMs: number;
  /** The clock the restart backoff is read with (a test's manual clock). */
  now?: () => number;
  /** The error every failed task is rejected with. */
  unavailable: (reason: string) => Error;
}

/**
 * After a worker fails, no new one starts for this long, doubled for each failure in a row up to
 * MAX_RESTART_BACKOFF_MS; the first task answered resets it. Code that cannot load (a broken
 * install) would otherwise cost a worker start (~150 ms of CPU) for every task.
 */
const RESTART_BACKOFF_MS = 1_000;
const MAX_RESTART_BACKOFF_MS = 60_000;

interface Pending {
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  watchdog: NodeJS.Timeout;
}

/**
 * One worker thread for work that would hold the event loop (counting tokens, parsing a large
 * answer). It starts on the first task, not before, and is kept. Tasks asked for while it loads
 * queue in its message port: the event loop stays free meanwhile.
 *
 * A worker that cannot load, dies, or leaves a task unanswered for `taskTimeoutMs` (it is then
 * stopped) fails every task in flight (one warning, one failure counted), and the first task after a
 * backoff (RESTART_BACKOFF_MS, doubled for each failure in a row) starts a new one; tasks before it
 * fail at once. The worker keeps the process alive only while it owes an answer: an idle one never
 * does, and its owner terminates it on shutdown (`close`).
 */
export class OffLoopWorker<Task, Result> {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private starts = 0;
  private failures = 0;
  private failuresInARow = 0;
  /** Epoch ms before which no worker starts (after a failure). */
  private noStartBefore = 0;
  private readonly now: () => number;

  constructor(
    private readonly options: OffLoopWorkerOptions,
    private readonly logger: WarningLog,
  ) {
    this.now = options.now ?? Date.now;
  }

  get stats(): OffLoopWorkerStats {
    return { running: this.worker !== undefined, starts: this.starts, failures: this.failures };
  }

  /** The task's result, from the worker; rejects with `unavailable(reason)` when no worker can do it. */
  run(task: Task): Promise<Result> {
    const { unavailable } = this.options;
    let worker: Worker;
    if (!this.worker) {
      const waitMs = this.noStartBefore - this.now();
      if (waitMs > 0) {
        return Promise.reject(
          unavailable(
            `its worker failed ${this.failuresInARow} time(s) in a row; the next starts in ${Math.ceil(waitMs / 1000)} s`,
          ),
        );
      }
    }
    try {
      worker = this.worker ?? this.start();
    } catch (error) {
      this.failed(undefined, error);
      return Promise.reject(unavailable('its worker could not start'));
    }
    const id = this.nextId++;
    // Kept alive while it owes an answer (a script's task is not lost), never while idle.
    if (this.pending.size === 0) worker.ref();
    return new Promise<Result>((resolve, reject) => {
      const watchdog = setTimeout(
        () => this.failed(worker, new Error(`it gave no answer within ${this.options.taskTimeoutMs} ms`)),
        this.options.taskTimeoutMs,
      );
      watchdog.unref();
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject, watchdog });
      worker.postMessage({ id, task });
    });
  }

  /** Stops the worker; tasks in flight fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    this.rejectPending(this.options.unavailable('the gateway is shutting down'));
    await worker.terminate();
  }

  private start(): Worker {
    this.starts++;
    const worker = new Worker(`${PRELUDE}\n${this.options.source}\n${DISPATCH}`, {
      eval: true,
      workerData: this.options.workerData?.(),
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb },
      // The parent's flags are for the gateway (jest's, or npm start's heap sizes), not for this thread.
      execArgv: [],
    });
    worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      clearTimeout(pending.watchdog);
      this.pending.delete(message.id);
      if (this.pending.size === 0) worker.unref();
      if (message.error === undefined) {
        this.failuresInARow = 0;
        return pending.resolve(message.result);
      }
      this.failures++;
      this.logger.warn(`${this.options.name} threw ${message.error} on a task: ${this.options.meanwhile}`);
      pending.reject(this.options.unavailable(`it threw ${message.error}`));
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
      `${this.options.name}'s worker failed (${reason}): ${this.options.meanwhile}; ` +
        `the first task after ${backoffMs / 1000} s starts a new worker`,
    );
    this.rejectPending(this.options.unavailable(reason));
    void worker?.terminate();
  }

  private rejectPending(error: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const { reject, watchdog } of pending) {
      clearTimeout(watchdog);
      reject(error);
    }
  }
}

/** Around every worker's source: `workerData` in scope; one answer per task, a throw answered by its error's name. */
const PRELUDE = "const { parentPort, workerData } = require('node:worker_threads');";
const DISPATCH = `
parentPort.on('message', ({ id, task }) => {
  let answer;
  try {
    answer = handle(task);
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.name : 'Error' });
    return;
  }
  parentPort.postMessage({ id, result: answer[0] }, answer[1]);
});
`;
