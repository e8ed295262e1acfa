import { murmur3_32 } from './murmur3';

// Expected values come from the reference algorithm (published vectors, plus a separate
// implementation over UTF-8 bytes), not from this code.
describe('murmur3_32', () => {
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\0\0\0\0', 0, 0x2362f9de],
    ['a', 0, 0x3c2569b2],
    ['hello', 0, 0x248bfa47],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ])('hashes %j with seed %d like the reference', (input, seed, expected) => {
    expect(murmur3_32(input, seed)).toBe(expected);
  });

  it.each([
    ['ab', 0x9bbfd75f],
    ['abc', 0xb3dd93fa],
    ['abcd', 0x43ed676a],
    ['abcde', 0xe89b9af6],
    ['abcdef', 0x6181c085],
    ['abcdefg', 0x883c9b06],
    ['abcdefgh', 0x49ddccc4],
  ])('covers every tail length: %j', (input, expected) => {
    expect(murmur3_32(input)).toBe(expected);
  });

  it.each([
    ['ü', 0, 0x7840e6aa],
    ['abcdü', 0, 0xe822cd82], // non-ASCII in the tail
    ['abcdefü', 0, 0x50c05a9d], // non-ASCII straddling a block boundary once encoded
    ['ü-abcdefgh', 0, 0x8bc39598], // non-ASCII in the first block
    ['😀', 0, 0xbeb42efa], // surrogate pair → 4 bytes
    ['\ud800x', 0, 0x431ac0a1], // lone surrogate → U+FFFD
    ['ππππππππ', 0x9747b28c, 0xd58063c1],
  ])('hashes the UTF-8 bytes of %j', (input, seed, expected) => {
    expect(murmur3_32(input, seed)).toBe(expected);
  });

  it('hashes long strings, which skip the reused encoding buffer', () => {
    expect(murmur3_32('x'.repeat(5000))).toBe(0xd59aef3c);
    expect(murmur3_32('ü'.repeat(2000))).toBe(0xede6cac2);
    expect(murmur3_32('ü'.repeat(1024))).toBe(0xcf851b68);
  });

  it('ignores bytes a longer earlier input left in the reused encoding buffer', () => {
    murmur3_32('ü'.repeat(1000));
    expect(murmur3_32('ü')).toBe(0x7840e6aa);
  });

  it('returns an unsigned 32-bit integer', () => {
    for (let i = 0; i < 1000; i++) {
      const h = murmur3_32(`id-${i}`);
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
    }
  });
});
