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
