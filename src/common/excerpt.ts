/**
 * A caller's value as an error message names it: whole when short, else its first characters and an
 * ellipsis. An unknown model id of 4 MB must not come back whole in the 400 (or 404) that refuses it.
 */
export function excerpt(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
