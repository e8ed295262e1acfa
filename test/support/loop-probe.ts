/**
 * Runs `work` while asking the gateway's `/health/live` again 5 ms after each answer, and says the
 * longest the gateway went without answering one: from an answer (or the start) to the next, pause
 * included, so a held event loop counts whether it falls during a probe or between two.
 */
export async function whileProbing<T>(
  gatewayUrl: string,
  work: () => Promise<T>,
): Promise<{ result: T; elapsedMs: number; longestUnansweredMs: number }> {
  let longestUnansweredMs = 0;
  let done = false;
  const started = performance.now();
  const probing = (async () => {
    let lastAnswered = started;
    while (!done) {
      const response = await fetch(`${gatewayUrl}/health/live`);
      await response.arrayBuffer();
      const now = performance.now();
      longestUnansweredMs = Math.max(longestUnansweredMs, now - lastAnswered);
      lastAnswered = now;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    const result = await work();
    return { result, elapsedMs: performance.now() - started, longestUnansweredMs };
  } finally {
    done = true;
    await probing;
  }
}

export type Probed<T> = Awaited<ReturnType<typeof whileProbing<T>>>;

/**
 * Up to five tries of `work` while probing, stopping at the first that `passed`. Wall-clock bounds
 * on a shared 2-core machine: a moment the scheduler gives to another process fails one try, while
 * work that really holds the event loop fails all five. The caller judges the best of the tries.
 */
export async function triesWhileProbing<T>(
  gatewayUrl: string,
  work: () => Promise<T>,
  passed: (tried: Probed<T>) => boolean,
): Promise<Array<Probed<T>>> {
  const tries: Array<Probed<T>> = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const tried = await whileProbing(gatewayUrl, work);
    tries.push(tried);
    if (passed(tried)) break;
  }
  return tries;
}
