import { createRequire } from 'node:module';
import { join } from 'node:path';
import { OffLoopWorker, type OffLoopWorkerStats, type WarningLog } from '../common/off-loop-worker';

/**
 * The worker's code (an OffLoopWorker's `handle`): it loads the tokenizer from the absolute path
 * the main thread resolved, and counts every chunk of a batch on its own. Special tokens' text
 * (`<|endoftext|>`) counts as the ordinary text it is in a user's message: the tokenizer's default
 * would throw on it.
 */
const WORKER_SOURCE = `
const { countTokens } = require(workerData.tokenizer);
const ORDINARY = { disallowedSpecial: new Set() };
function handle(chunks) {
  const counts = new Uint32Array(chunks.length);
  for (let i = 0; i < chunks.length; i++) counts[i] = countTokens(chunks[i], ORDINARY);
  return [counts, [counts.buffer]];
}
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

/** The count could not be had: the tokenizer failed to load, died, or the counter was closed. */
export class TokenizerUnavailable extends Error {
  constructor(reason: string) {
    super(`the tokenizer is unavailable: ${reason}`);
    this.name = 'TokenizerUnavailable';
  }
}

/** Workers started and failed: the tokenizer's series on /metrics. */
export type TokenCounterStats = OffLoopWorkerStats;
export type { WarningLog };

/** Where the o200k tokenizer's CommonJS entry is: beside this file in dist/, from the project's root under jest. */
export function o200kTokenizerPath(): string {
  const from = typeof __filename === 'string' ? __filename : join(process.cwd(), 'package.json');
  return createRequire(from).resolve('gpt-tokenizer/encoding/o200k_base');
}

/**
 * Counts o200k tokens in a worker thread (OffLoopWorker), so that neither the vocabulary's ~15 MB of
 * live Maps (which every major GC of the main thread would otherwise mark) nor the counting itself is
 * on the event loop. The worker starts on the first count asked for, not before (a gateway whose
 * prompts' bytes always settle never loads the tokenizer). A count that fails (the tokenizer cannot
 * load, dies, or leaves a count unanswered for COUNT_TIMEOUT_MS) is rejected with
 * TokenizerUnavailable, and its prompt goes through uncounted.
 */
export class TokenCounter {
  private readonly worker: OffLoopWorker<readonly string[], Uint32Array>;

  /** `now`: the clock the restart backoff is read with (a test's manual clock). */
  constructor(
    logger: WarningLog,
    tokenizerPath: () => string = o200kTokenizerPath,
    countTimeoutMs = COUNT_TIMEOUT_MS,
    now: () => number = Date.now,
  ) {
    this.worker = new OffLoopWorker(
      {
        name: 'the tokenizer',
        meanwhile: 'prompts go through uncounted',
        source: WORKER_SOURCE,
        workerData: () => ({ tokenizer: tokenizerPath() }),
        heapMb: WORKER_HEAP_MB,
        taskTimeoutMs: countTimeoutMs,
        now,
        unavailable: (reason) => new TokenizerUnavailable(reason),
      },
      logger,
    );
  }

  get stats(): TokenCounterStats {
    return this.worker.stats;
  }

  /** The tokens of each chunk (each ≤ 256 characters; a batch of up to ~64 KB), in order. */
  readonly count = (chunks: readonly string[]): Promise<Uint32Array> =>
    chunks.length === 0 ? Promise.resolve(new Uint32Array(0)) : this.worker.run(chunks);

  /** Stops the worker; counts in flight fail with TokenizerUnavailable. */
  close(): Promise<void> {
    return this.worker.close();
  }
}
