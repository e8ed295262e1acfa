import { generateApiKey, hashApiKey, prefixOf } from './api-key-format';

describe('API key format', () => {
  it('generates sy_<10 characters>_<32 random bytes> keys, shown by their first 13 characters and stored as SHA-256', () => {
    const { key, prefix, hash } = generateApiKey();
    expect(key).toMatch(/^sy_[a-z0-9]{10}_[A-Za-z0-9_-]{43}$/);
    expect(prefix).toBe(key.slice(0, 13));
    expect(hash).toBe(hashApiKey(key));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(generateApiKey().key).not.toBe(key);
  });

  it('shows no character of a key of another format, only 8 hex digits of its hash', () => {
    const key = 'an-operator-chosen-admin-key-of-48-characters-xx';
    const hash = hashApiKey(key);
    expect(prefixOf(key, hash)).toBe(`env_${hash.slice(0, 8)}`);
    expect(prefixOf(key, Buffer.from(hash, 'hex'))).toBe(`env_${hash.slice(0, 8)}`);
  });
});
