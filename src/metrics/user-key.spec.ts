import { createHmac } from 'node:crypto';
import { userKeyHasher } from './user-key';

/** The definition written out the long way: HMAC-SHA256's first 8 bytes as a signed 64-bit integer. */
function reference(secret: string, userId: string): string {
  return createHmac('sha256', secret).update(userId).digest().readBigInt64BE(0).toString();
}

describe('userKeyHasher', () => {
  const secret = 'a-test-secret-of-16+';
  const userKeyOf = userKeyHasher(secret);

  it('keys a user id as the first 8 bytes of its HMAC, signed, the same every time', () => {
    const ids = Array.from({ length: 200 }, (_, n) => `user-${n}`).concat(['ünïcødé', '🚀', 'x'.repeat(500)]);
    const keys = ids.map((id) => userKeyOf(id));
    expect(keys).toEqual(ids.map((id) => reference(secret, id)));
    expect(ids.map((id) => userKeyOf(id))).toEqual(keys);
    // Both signs occur: the key uses all 64 bits of an int8.
    expect(keys.some((key) => key!.startsWith('-'))).toBe(true);
    expect(keys.some((key) => !key!.startsWith('-'))).toBe(true);
  });

  it('gives no key for a request without a user, and other keys under another secret', () => {
    expect(userKeyOf(null)).toBeNull();
    expect(userKeyOf('')).toBeNull();
    expect(userKeyHasher('another-secret-of-16+')('user-1')).not.toEqual(userKeyOf('user-1'));
    expect(userKeyHasher(undefined)('user-1')).toEqual(reference('switchyard-user-key-v1', 'user-1'));
  });
});
