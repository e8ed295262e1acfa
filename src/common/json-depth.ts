/**
 * How deeply a request body may nest. Real OpenAI bodies and operator bodies nest a handful of
 * levels; thousands of levels only serve to overflow recursive validators (a 500), so bodies deeper
 * than this are refused with a 400 that names the limit.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The first path deeper than `limit` in a parsed JSON value, or undefined when none is. Iterative,
 * so a hostile depth cannot overflow the stack, and linear in the number of values.
 */
export function pathDeeperThan(value: unknown, limit = MAX_JSON_DEPTH): string | undefined {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth >= limit) return item.path || '(root)';
    if (Array.isArray(item.value)) {
      for (let i = 0; i < item.value.length; i++) {
        stack.push({ value: item.value[i], depth: item.depth + 1, path: `${item.path}[${i}]` });
      }
    } else {
      for (const key of Object.keys(item.value)) {
        const child = (item.value as Record<string, unknown>)[key];
        if (typeof child === 'object' && child !== null) {
          stack.push({ value: child, depth: item.depth + 1, path: item.path ? `${item.path}.${key}` : key });
        }
      }
    }
  }
  return undefined;
}
