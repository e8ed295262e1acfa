export { murmur3_32 } from './murmur3';
export { BUCKET_COUNT, bucketFor } from './bucket';
export { assertValidRollout, percentToBasisPoints, pickVariant } from './rollout';
export type { RolloutSlice } from './rollout';
