/** The client went away, so the upstream call was abandoned. */
export class ClientAbortedError extends Error {
  /** `attempts`: upstream calls this model was asked before the client left, the one it cut included. */
  constructor(readonly attempts = 0) {
    super('the client closed the connection');
    this.name = 'ClientAbortedError';
  }
}

/**
 * "The client went away": cancelled at most once, listeners run once. The gateway creates one per
 * request. It is not an AbortController because those (an EventTarget each, plus undici's listener
 * bookkeeping) were the largest single item in the gateway's per-request CPU profile; this is a flag
 * and a short list. Where an undici stream needs a real AbortSignal, `linkTo` ties one to it.
 */
export class Cancellation {
  private cancelled = false;
  private listeners: Array<() => void> | undefined;

  get isCancelled(): boolean {
    return this.cancelled;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }

  /** Runs `listener` on cancellation (at once if already cancelled); returns the function that unsubscribes it. */
  onCancel(listener: () => void): () => void {
    if (this.cancelled) {
      listener();
      return () => undefined;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const index = this.listeners?.indexOf(listener) ?? -1;
      if (index >= 0) this.listeners?.splice(index, 1);
    };
  }

  /** Aborts `controller` when this is cancelled; returns the function that unlinks them. */
  linkTo(controller: AbortController): () => void {
    return this.onCancel(() => controller.abort());
  }
}

/** Waits `ms`, or rejects with ClientAbortedError as soon as the client goes away. */
export function sleepUnlessGone(ms: number, clientGone: Cancellation): Promise<void> {
  return new Promise((resolve, reject) => {
    if (clientGone.isCancelled) return reject(new ClientAbortedError());
    const stopWatching = clientGone.onCancel(() => {
      clearTimeout(timer);
      reject(new ClientAbortedError());
    });
    const timer = setTimeout(() => {
      stopWatching();
      resolve();
    }, ms);
  });
}
