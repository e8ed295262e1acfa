import { DEFAULT_CANARY_ANALYSIS } from '@switchyard/stats';
import { incidentWarnings } from './canary-preview.service';

describe('incidentWarnings', () => {
  const stages = [
    { percentage: 5, durationSeconds: 60 },
    { percentage: 50, durationSeconds: 3600 },
    { percentage: 100, durationSeconds: 0 },
  ];

  it('says nothing at a usual tick: every stage may hold half an hour, past the control window', () => {
    expect(incidentWarnings(stages, DEFAULT_CANARY_ANALYSIS, 2, 10_000)).toEqual([]);
    expect(incidentWarnings(stages, DEFAULT_CANARY_ANALYSIS, 0, 10_000)).toEqual([]);
  });

  it('warns of a stage whose hold limit a tick of most of half an hour leaves too short', () => {
    expect(incidentWarnings(stages, DEFAULT_CANARY_ANALYSIS, 2, 1_600_000)).toEqual([
      'stage 1 (5%) may hold at most 1800 s with 2 extensions: a provider incident holds a stage until the ' +
        "control's last 5 minutes are healthy again, so this stage will pause rather than wait it out; shorten the " +
        'tick (CANARY_TICK_SECONDS), lengthen the stage or allow more extensions (maxStageExtensions)',
    ]);
  });
});
