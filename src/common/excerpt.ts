/**
 * A caller's value as an error message names it: whole when short, else its first characters and an
 * ellipsis. An unknown model id of 4 MB must not come back whole in the 400 (or 404) that refuses it.
 */
export function excerpt(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A value as a message may quote it: short strings and numbers as they are, anything else by its type. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return value.length <= 40 ? JSON.stringify(value) : `a ${value.length}-character string`;
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}
