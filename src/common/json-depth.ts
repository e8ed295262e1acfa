/**
 * How deeply a request body may nest. Real OpenAI bodies and operator bodies nest a handful of
 * levels; thousands of levels only serve to overflow recursive validators (a 500), so bodies deeper
 * than this are refused with a 400 that names the limit.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The first path deeper than `limit` in a parsed JSON value, or undefined when none is. Iterative,
 * so a hostile depth cannot overflow the stack, and linear in the number of values. It runs on every
 * request body, so the walk allocates nothing per value; the path is only spelled out for a body
 * that is refused.
 */
export function pathDeeperThan(value: unknown, limit = MAX_JSON_DEPTH): string | undefined {
  return isDeeperThan(value, limit) ? deepPath(value, limit) : undefined;
}

function isDeeperThan(value: unknown, limit: number): boolean {
  const containers: object[] = [];
  const depths: number[] = [];
  if (typeof value === 'object' && value !== null) {
    containers.push(value);
    depths.push(0);
  }
  while (containers.length > 0) {
    const container = containers.pop() as Record<string, unknown>;
    const depth = depths.pop() as number;
    if (depth >= limit) return true;
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) pushContainer(containers, depths, container[i], depth + 1);
    } else {
      for (const key in container) pushContainer(containers, depths, container[key], depth + 1);
    }
  }
  return false;
}

function pushContainer(containers: object[], depths: number[], value: unknown, depth: number): void {
  if (typeof value !== 'object' || value === null) return;
  containers.push(value);
  depths.push(depth);
}

/** The same walk, naming the path to the first container at `limit` (only for a refused body). */
function deepPath(value: unknown, limit: number): string | undefined {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth >= limit) return item.path || '(root)';
    const isList = Array.isArray(item.value);
    for (const key of Object.keys(item.value)) {
      const child = (item.value as Record<string, unknown>)[key];
      if (typeof child !== 'object' || child === null) continue;
      const path = isList ? `${item.path}[${key}]` : item.path ? `${item.path}.${key}` : key;
      stack.push({ value: child, depth: item.depth + 1, path });
    }
  }
  return undefined;
}
