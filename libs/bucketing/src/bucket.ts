import { murmur3_32 } from './murmur3';

// Basis points: one bucket is 0.01% of users, the finest step a rollout weight can take.
export const BUCKET_COUNT = 10000;

// The salt (by default the flag key) makes buckets independent across flags: a user in the first 5%
// of one flag is not thereby in the first 5% of every other flag.
// `% 10000` over 2^32 values favours buckets below 7296 by one part in ~430 000, far below noise.
export function bucketFor(salt: string, userId: string): number {
  return murmur3_32(salt + ':' + userId) % BUCKET_COUNT;
}
