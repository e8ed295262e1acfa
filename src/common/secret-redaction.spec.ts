import { secretRedactor } from './secret-redaction';

describe('secretRedactor', () => {
  it('removes every occurrence of every secret, longest first', () => {
    const redact = secretRedactor(['sk-abc', 'sk-abc-long', undefined, '']);
    expect(redact('key sk-abc-long and sk-abc, again sk-abc')).toBe('key [redacted] and [redacted], again [redacted]');
  });

  it('leaves text without secrets as it is', () => {
    expect(secretRedactor([])('nothing here')).toBe('nothing here');
    expect(secretRedactor(['sk-abc'])('nothing here')).toBe('nothing here');
  });
});
