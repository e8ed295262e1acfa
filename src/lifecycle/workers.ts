import cluster from 'node:cluster';

/**
 * The messages between the primary process and its gateway workers under WORKERS > 1
 * (cluster-primary.ts), and the worker's side of them. With WORKERS=1 (the default) there is no
 * cluster and none of this runs.
 */
const READY = 'switchyard:worker-ready';
const METRICS_REQUEST = 'switchyard:metrics-request';
const METRICS_ANSWER = 'switchyard:metrics-answer';

/** How long a worker waits for the primary to collect every worker's series before giving up. */
const METRICS_TIMEOUT_MS = 10_000;

export type WorkerMessage =
  | { type: typeof READY; port: number }
  | { type: typeof METRICS_REQUEST; id: number }
  | { type: typeof METRICS_ANSWER; id: number; text?: string; error?: string };

/** This process is one of several gateway workers sharing the port. */
export function isWorker(): boolean {
  return cluster.isWorker;
}

/** The worker's number, 1 to WORKERS (a replacement gets the next one); 0 outside a cluster. */
export function workerId(): number {
  return cluster.worker?.id ?? 0;
}

/** Tells the primary this worker serves requests now, on `port`. */
export function announceReady(port: number): void {
  process.send?.({ type: READY, port } satisfies WorkerMessage);
}

export function isReady(message: unknown): message is Extract<WorkerMessage, { type: typeof READY }> {
  return (message as WorkerMessage | undefined)?.type === READY;
}

export function isMetricsRequest(
  message: unknown,
): message is Extract<WorkerMessage, { type: typeof METRICS_REQUEST }> {
  return (message as WorkerMessage | undefined)?.type === METRICS_REQUEST;
}

export function metricsAnswer(id: number, result: { text?: string; error?: string }): WorkerMessage {
  return { type: METRICS_ANSWER, id, ...result };
}

let nextRequestId = 0;

/**
 * Every worker's Prometheus series added up (counters and histograms summed, circuit states the
 * worst), as the primary collects them: a scrape reaches one worker, and each worker has counted only
 * the requests it served.
 */
export function clusterExposition(): Promise<string> {
  const id = nextRequestId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error(`the primary did not collect the workers' metrics within ${METRICS_TIMEOUT_MS} ms`));
    }, METRICS_TIMEOUT_MS);
    function onMessage(message: unknown): void {
      const answer = message as WorkerMessage;
      if (answer.type !== METRICS_ANSWER || answer.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (answer.error !== undefined || answer.text === undefined) reject(new Error(answer.error ?? 'no metrics'));
      else resolve(answer.text);
    }
    process.on('message', onMessage);
    process.send?.({ type: METRICS_REQUEST, id } satisfies WorkerMessage);
  });
}
