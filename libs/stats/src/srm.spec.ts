import { srmTest } from './srm';

describe('srmTest (sequential beta-binomial on units)', () => {
  it('finds no mismatch when the split matches the weights', () => {
    expect(srmTest(5_000, 95_000, 0.05).pValue).toBe(1);
    expect(srmTest(15_040, 84_960, 0.15).pValue).toBeGreaterThan(0.5);
  });

  it('finds a 3% loss of treatment users at 10⁵ users, and a gross one at a few thousand', () => {
    expect(srmTest(33_950, 66_050, 0.35).pValue).toBeLessThan(0.001);
    expect(srmTest(20, 2_000, 0.05).pValue).toBeLessThan(0.001);
  });

  it('sees a gross split within a few hundred users', () => {
    expect(srmTest(126, 0, 0.5).pValue).toBeLessThan(1e-30);
    expect(srmTest(0, 126, 0.5).pValue).toBeLessThan(1e-30);
    expect(srmTest(126, 60, 0.5).pValue).toBeLessThan(0.001);
  });

  it('is not checked without units or without a share to compare with', () => {
    expect(srmTest(0, 0, 0.05).pValue).toBe(1);
    expect(srmTest(10, 10, 1).pValue).toBe(1);
  });

  // Half the treatment's users lost at an expected 50% (a third of users in the treatment): seen
  // before 500 users in nearly every run.
  it('catches half the treatment lost before 500 users', () => {
    const uniform = lcg(11);
    const runs = 300;
    let caught = 0;
    for (let run = 0; run < runs; run++) {
      let treatment = 0;
      for (let unit = 1; unit <= 500; unit++) {
        if (uniform() < 1 / 3) treatment++;
        if (unit % 10 === 0 && srmTest(treatment, unit - treatment, 0.5).pValue < 0.001) {
          caught++;
          break;
        }
      }
    }
    expect(caught / runs).toBeGreaterThanOrEqual(0.95);
  });

  // Under correct assignment, counted at every 100 units up to 20 000, at most alpha of the runs
  // ever see p < alpha (Ville's inequality for the mixture martingale).
  it('stays valid under continuous monitoring', () => {
    const uniform = lcg(7);
    const alpha = 0.05;
    let alarms = 0;
    const runs = 300;
    for (let run = 0; run < runs; run++) {
      let treatment = 0;
      let alarmed = false;
      for (let unit = 1; unit <= 20_000; unit++) {
        if (uniform() < 0.15) treatment++;
        if (unit % 100 === 0 && srmTest(treatment, unit - treatment, 0.15).pValue < alpha) alarmed = true;
      }
      if (alarmed) alarms++;
    }
    expect(alarms / runs).toBeLessThanOrEqual(alpha);
  });

  // The broad part of the prior reacts to few users: looked at from the 10th unit on, every 10.
  it('stays valid under continuous monitoring from the first users', () => {
    const uniform = lcg(3);
    const alpha = 0.05;
    let alarms = 0;
    const runs = 1000;
    for (let run = 0; run < runs; run++) {
      let treatment = 0;
      for (let unit = 1; unit <= 2_000; unit++) {
        if (uniform() < 0.5) treatment++;
        if (unit % 10 === 0 && srmTest(treatment, unit - treatment, 0.5).pValue < alpha) {
          alarms++;
          break;
        }
      }
    }
    expect(alarms / runs).toBeLessThanOrEqual(alpha);
  });
});

function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}
