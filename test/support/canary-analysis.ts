/**
 * Canary analyses for tests whose canaries run on a few dozen real requests per arm and must reach a
 * promotion: a canary does not promote while a guardrail's estimate is past its margin, and with so
 * few requests a latency quantile's estimate is past a 20% margin by chance often enough to extend
 * such a canary (then pause it, the test's clock moving without more traffic). The rates stay judged
 * (both arms' are 0 on the simulator unless a test plants errors). Latency guardrails are tested where
 * the data is sized for them: canary-decision and canary-live-aa e2e, and the Monte Carlo.
 */
export const LATENCY_GUARDRAILS_OFF = Object.freeze({
  latencyP50: null,
  latencyP95: null,
  latencyP99: null,
  ttftP50: null,
  ttftP95: null,
});
