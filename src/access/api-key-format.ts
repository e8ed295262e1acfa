import { hash, randomBytes, randomInt } from 'node:crypto';

/**
 * Keys look like `sy_k3j5n2m8q1_<43 characters>`: `sy_` and a 10-character prefix (the part shown in
 * lists and logs, to tell keys apart) followed by 32 random bytes in base64url. Only the SHA-256 of
 * the whole key is stored: the key is long and random, so a fast hash is enough (no bcrypt).
 */
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PREFIX_RANDOM_LENGTH = 10;
const SECRET_BYTES = 32;
const GENERATED_KEY = /^sy_[a-z0-9]{10}_[A-Za-z0-9_-]{43}$/;
/** `sy_` + 10 characters. */
const VISIBLE_PREFIX_LENGTH = 3 + PREFIX_RANDOM_LENGTH;

export interface NewApiKey {
  key: string;
  prefix: string;
  hash: string;
}

export function generateApiKey(): NewApiKey {
  let random = '';
  for (let i = 0; i < PREFIX_RANDOM_LENGTH; i++) random += PREFIX_ALPHABET[randomInt(PREFIX_ALPHABET.length)];
  const key = `sy_${random}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  const keyHash = hashApiKey(key);
  return { key, prefix: prefixOf(key, keyHash), hash: keyHash };
}

export function hashApiKey(key: string): string {
  return sha256(key).toString('hex');
}

/** One-shot hash: every gateway request hashes its key, and this skips the Hash object createHash builds. */
export function sha256(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

/**
 * The prefix a key is looked up by. Keys Switchyard generated carry it; any other key (a
 * SWITCHYARD_ADMIN_KEY of the operator's own making) gets `env_` and 8 hex digits of its hash, so
 * none of its characters is ever shown.
 */
export function prefixOf(key: string, hash: Buffer | string): string {
  if (key.length === VISIBLE_PREFIX_LENGTH + 44 && GENERATED_KEY.test(key)) return key.slice(0, VISIBLE_PREFIX_LENGTH);
  return `env_${typeof hash === 'string' ? hash.slice(0, 8) : hash.toString('hex', 0, 4)}`;
}
