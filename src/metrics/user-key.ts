import { createHmac } from 'node:crypto';

// Used only when METRICS_USER_KEY_SECRET is unset: keys still cluster a user's requests, but whoever
// has the code can test guessed user ids against them.
const BUILT_IN_KEY = 'switchyard-user-key-v1';

/**
 * The stored stand-in for a user id: the first 8 bytes of HMAC-SHA256(secret, id), as a signed
 * 64-bit integer (a decimal string, as pg takes an int8). Stable for the same id and secret, so
 * a user's requests share a key (and a variance bucket); the raw id is never stored. Null for a
 * request without a user: such a request is its own cluster.
 */
export function userKeyHasher(secret: string | undefined): (userId: string | null) => string | null {
  const key = secret ?? BUILT_IN_KEY;
  return (userId) =>
    userId === null || userId === ''
      ? null
      : // Hex straight from digest: a Buffer from it costs a third of the whole HMAC.
        BigInt.asIntN(
          64,
          BigInt(`0x${createHmac('sha256', key).update(userId).digest('hex').slice(0, 16)}`),
        ).toString();
}
