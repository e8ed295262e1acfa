/**
 * Calls to the gateway's /api with the signed-in key. The key lives in sessionStorage only: it is
 * gone when the tab closes, and never written anywhere else.
 */
const STORAGE_KEY = 'switchyard.apiKey';

export interface Identity {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  actor: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const session = {
  key: (): string | null => sessionStorage.getItem(STORAGE_KEY),
  save: (key: string) => sessionStorage.setItem(STORAGE_KEY, key),
  clear: () => sessionStorage.removeItem(STORAGE_KEY),
};

/** No answer at all: the gateway is down, or the network to it is (fetch itself failed). */
export class Unreachable extends Error {
  constructor() {
    super('the gateway does not answer');
  }
}

/** Called when the key stops working (revoked while signed in): back to the sign-in form. */
let onUnauthenticated: () => void = () => undefined;
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

export async function api<T>(
  path: string,
  options: { method?: string; body?: unknown; key?: string } = {},
): Promise<T> {
  const key = options.key ?? session.key();
  const response = await fetch(path, {
    method: options.method ?? 'GET',
    headers: {
      accept: 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  }).catch(() => {
    throw new Unreachable();
  });
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : null;
  if (!response.ok) {
    const message = (body as { message?: string } | null)?.message ?? `${response.status} ${response.statusText}`;
    if (response.status === 401 && options.key === undefined) onUnauthenticated();
    throw new ApiError(response.status, message);
  }
  return body as T;
}

export function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter(([, value]) => value !== undefined) as Array<[string, string]>;
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}`;
}
