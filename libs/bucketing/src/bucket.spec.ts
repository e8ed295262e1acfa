import { BUCKET_COUNT, bucketFor } from './bucket';
import { murmur3_32 } from './murmur3';

const ids = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);

describe('bucketFor', () => {
  it('is murmur3_32(salt + ":" + userId) mod 10000', () => {
    expect(BUCKET_COUNT).toBe(10000);
    expect(bucketFor('flag', 'user-7')).toBe(murmur3_32('flag:user-7') % 10000);
  });

  it('gives the same bucket for the same inputs', () => {
    for (const id of ids.slice(0, 1000)) expect(bucketFor('chat-model', id)).toBe(bucketFor('chat-model', id));
  });

  // Computed once by an independent implementation. Every replica, restart and release must agree
  // with these, or users silently switch variants: if this fails, the hash changed.
  it.each([
    ['chat-model', 'user-1', 2965],
    ['chat-model', 'user-42', 3911],
    ['chat-model', 'user-99999', 3457],
    ['fraud-model', 'alice@example.com', 4410],
    ['recs-model', 'ümlaut-用户', 6146],
    ['', '', 7430],
  ])('bucketFor(%j, %j) is %d, forever', (salt, userId, bucket) => {
    expect(bucketFor(salt, userId)).toBe(bucket);
  });

  it('spreads users evenly over the buckets', () => {
    // 100 ranges of 100 buckets each expect 1000 users; ±15% is about 5 standard deviations.
    const counts = new Array<number>(100).fill(0);
    for (const id of ids) counts[Math.floor(bucketFor('chat-model', id) / 100)]++;
    expect(Math.min(...counts)).toBeGreaterThan(850);
    expect(Math.max(...counts)).toBeLessThan(1150);
  });

  it('assigns buckets independently per salt', () => {
    let both = 0;
    for (const id of ids) if (bucketFor('flag-a', id) < 5000 && bucketFor('flag-b', id) < 5000) both++;
    expect(Math.abs(both / ids.length - 0.25)).toBeLessThan(0.01);
  });
});
