export const REDACTED = '[redacted]';

/**
 * A function that replaces every occurrence of any of `secrets` in a text with `[redacted]`. Used
 * wherever text from outside can carry a secret of ours: an upstream's error message may quote the
 * provider key it was sent, and the log must not keep it. Longest secrets first, so a secret that
 * contains another is removed whole.
 */
export function secretRedactor(secrets: Iterable<string | undefined>): (text: string) => string {
  const values = [...new Set([...secrets].filter((value): value is string => !!value))].sort(
    (a, b) => b.length - a.length,
  );
  if (values.length === 0) return (text) => text;
  return (text) => {
    let redacted = text;
    for (const value of values) {
      if (redacted.includes(value)) redacted = redacted.split(value).join(REDACTED);
    }
    return redacted;
  };
}
