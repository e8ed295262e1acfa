import TestSequencer from '@jest/test-sequencer';

/**
 * The suite's longest files (tens of seconds each). Jest starts the slowest files first when it has
 * their times from an earlier run, but a fresh clone (CI) has none, so it orders by file size: these
 * small, CPU-bound specs then started last and ran alone on one core for most of a minute while the
 * other worker had nothing left to do.
 */
const SLOWEST = [
  'src/canary/simulation/simulation.spec.ts',
  'test/platform-process.e2e-spec.ts',
  'test/canary-conversions.e2e-spec.ts',
  'libs/stats/src/confidence-sequence.spec.ts',
];

const rank = (test) => {
  const index = SLOWEST.findIndex((path) => test.path.endsWith(path));
  return index === -1 ? SLOWEST.length : index;
};

/** Jest's own order (failed first, then by time or size), with SLOWEST moved to the front. */
export default class SlowestFirstSequencer extends TestSequencer {
  async sort(tests) {
    const ordered = await super.sort(tests);
    return [...ordered].sort((a, b) => rank(a) - rank(b));
  }
}
