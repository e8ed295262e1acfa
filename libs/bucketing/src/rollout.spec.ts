import { bucketFor } from './bucket';
import { assertValidRollout, percentToBasisPoints, pickVariant, RolloutSlice } from './rollout';

const ids = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);
const buckets = ids.map((id) => bucketFor('chat-model', id));

const assign = (slices: RolloutSlice[]) => buckets.map((b) => pickVariant(b, slices, 'control'));
const treatment = (basisPoints: number) => assign([{ variant: 'treatment', basisPoints }]);
const share = (assigned: string[], variant: string) => assigned.filter((v) => v === variant).length / assigned.length;

describe('pickVariant', () => {
  it('lays slices end to end from bucket 0, the rest to the default', () => {
    const slices = [
      { variant: 'a', basisPoints: 100 },
      { variant: 'b', basisPoints: 0 },
      { variant: 'c', basisPoints: 250 },
    ];
    expect(pickVariant(0, slices, 'control')).toBe('a');
    expect(pickVariant(99, slices, 'control')).toBe('a');
    expect(pickVariant(100, slices, 'control')).toBe('c');
    expect(pickVariant(349, slices, 'control')).toBe('c');
    expect(pickVariant(350, slices, 'control')).toBe('control');
    expect(pickVariant(9999, [], 'control')).toBe('control');
  });

  it.each([5, 15, 35, 50, 65])('puts %d%% of users in the treatment, ±0.5 points', (percent) => {
    const got = share(treatment(percentToBasisPoints(percent)), 'treatment') * 100;
    expect(Math.abs(got - percent)).toBeLessThanOrEqual(0.5);
  });

  it('gives nobody the treatment at 0% and everybody at 100%', () => {
    expect(share(treatment(0), 'treatment')).toBe(0);
    expect(share(treatment(10000), 'treatment')).toBe(1);
  });

  it('only adds users as the canary ramps 5 → 15 → 35 → 65 → 100%', () => {
    const stages = [5, 15, 35, 65, 100].map((p) => treatment(percentToBasisPoints(p)));
    for (let s = 1; s < stages.length; s++) {
      for (let u = 0; u < ids.length; u++) {
        if (stages[s - 1][u] === 'treatment' && stages[s][u] !== 'treatment') {
          throw new Error(`${ids[u]} left the treatment at stage ${s}`);
        }
      }
      expect(share(stages[s], 'treatment')).toBeGreaterThan(share(stages[s - 1], 'treatment'));
    }
  });

  describe('with two slices', () => {
    const changes = (before: string[], after: string[]) => {
      const moves = new Map<string, number>();
      before.forEach((from, u) => {
        if (from !== after[u]) moves.set(`${from}→${after[u]}`, (moves.get(`${from}→${after[u]}`) ?? 0) + 1);
      });
      return moves;
    };

    it('raising the last slice only moves default users into it', () => {
      const before = assign([
        { variant: 'a', basisPoints: 1000 },
        { variant: 'b', basisPoints: 500 },
      ]);
      const after = assign([
        { variant: 'a', basisPoints: 1000 },
        { variant: 'b', basisPoints: 1500 },
      ]);
      expect([...changes(before, after).keys()]).toEqual(['control→b']);
    });

    it('raising the first slice keeps its users and slides the second one along', () => {
      const before = assign([
        { variant: 'a', basisPoints: 1000 },
        { variant: 'b', basisPoints: 500 },
      ]);
      const after = assign([
        { variant: 'a', basisPoints: 2000 },
        { variant: 'b', basisPoints: 500 },
      ]);
      const moves = changes(before, after);
      // b's old users all become a (b was narrower than the step); a's users never move.
      expect([...moves.keys()].sort()).toEqual(['b→a', 'control→a', 'control→b']);
      expect(share(after, 'b')).toBeCloseTo(share(before, 'b'), 2);
    });

    it('is a different assignment when the order changes, which is why callers sort', () => {
      const ab = assign([
        { variant: 'a', basisPoints: 1000 },
        { variant: 'b', basisPoints: 1000 },
      ]);
      const ba = assign([
        { variant: 'b', basisPoints: 1000 },
        { variant: 'a', basisPoints: 1000 },
      ]);
      expect(changes(ab, ba).size).toBeGreaterThan(0);
    });

    it('moves nobody when a 0% variant is added anywhere', () => {
      const before = assign([
        { variant: 'b', basisPoints: 1000 },
        { variant: 'd', basisPoints: 500 },
      ]);
      for (const at of [0, 1, 2]) {
        const slices = [
          { variant: 'b', basisPoints: 1000 },
          { variant: 'd', basisPoints: 500 },
        ];
        slices.splice(at, 0, { variant: 'new', basisPoints: 0 });
        expect(changes(before, assign(slices)).size).toBe(0);
      }
    });
  });
});

describe('assertValidRollout', () => {
  it('accepts weights that fit in 10000 basis points', () => {
    expect(() => assertValidRollout([])).not.toThrow();
    expect(() =>
      assertValidRollout([
        { variant: 'a', basisPoints: 0 },
        { variant: 'b', basisPoints: 10000 },
      ]),
    ).not.toThrow();
  });

  it.each([
    [[{ variant: 'a', basisPoints: -1 }]],
    [[{ variant: 'a', basisPoints: 1.5 }]],
    [[{ variant: 'a', basisPoints: Number.NaN }]],
    [[{ variant: 'a', basisPoints: 10001 }]],
    [
      [
        { variant: 'a', basisPoints: 6000 },
        { variant: 'b', basisPoints: 4001 },
      ],
    ],
    [
      [
        { variant: 'a', basisPoints: 1 },
        { variant: 'a', basisPoints: 1 },
      ],
    ],
  ])('rejects %j', (slices) => {
    expect(() => assertValidRollout(slices)).toThrow(RangeError);
  });
});

describe('percentToBasisPoints', () => {
  it.each([
    [0, 0],
    [-0, 0],
    [0.01, 1],
    [5, 500],
    [12.34, 1234],
    [0.1 + 0.2, 30],
    [33.33, 3333],
    [99.99, 9999],
    [100, 10000],
  ])('%d%% is %d basis points', (percent, basisPoints) => {
    expect(percentToBasisPoints(percent)).toBe(basisPoints);
  });

  it.each([-0.01, -1, 100.01, 101, Number.NaN, Infinity, -Infinity, 12.345, 0.001, 50.5000001])(
    'rejects %d',
    (percent) => {
      expect(() => percentToBasisPoints(percent)).toThrow(RangeError);
    },
  );
});
