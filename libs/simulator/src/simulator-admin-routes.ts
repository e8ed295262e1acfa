import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidRequest, unknownUrl } from './openai-error';
import { decodePathSegment, readJsonBody, sendJson } from './simulator-http';
import type { ModelProfile } from './simulator-profile';
import type { RecordedRequest } from './simulator-recording';
import type { SimulatorStatsSnapshot } from './simulator-stats';

export const ADMIN_PREFIX = '/_simulator';

export interface SimulatorKeysState {
  labels: string[];
  revoked: string[];
}

/** The simulator's admin operations, as the routes below reach them (SimulatedProvider's public API). */
export interface SimulatorAdmin {
  getProfiles(): Record<string, ModelProfile>;
  /** Throws a 404 OpenAiHttpError for a model it does not serve. */
  assertServes(modelId: string): void;
  updateProfile(modelId: string, patch: unknown): ModelProfile;
  addFaults(modelId: string, body: unknown): { queued: number };
  getKeys(): SimulatorKeysState;
  setRevokedKeys(labels: string[]): SimulatorKeysState;
  getStats(): SimulatorStatsSnapshot;
  setRecording(body: unknown): { requests: number };
  getRecordedRequests(): { recording: number; requests: RecordedRequest[] };
  reset(): void;
}

/**
 * The admin routes under /_simulator, without auth (a local test double): GET /profiles,
 * PUT /profiles/:model, POST /faults/:model, GET|PUT /keys, GET /stats, PUT /recording, GET /requests,
 * POST /reset. `path` is the part after the prefix. Anything else is OpenAI's 404 for an unknown URL.
 */
export async function routeAdmin(
  admin: SimulatorAdmin,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  path: string,
): Promise<void> {
  if (method === 'GET' && path === '/profiles') return sendJson(res, 200, admin.getProfiles());
  if (method === 'PUT' && path.startsWith('/profiles/')) {
    const modelId = decodePathSegment(path.slice('/profiles/'.length));
    if (modelId === undefined) throw unknownUrl(method, ADMIN_PREFIX + path);
    admin.assertServes(modelId); // 404 before reading a body that would be thrown away
    return sendJson(res, 200, admin.updateProfile(modelId, await readJsonBody(req)));
  }
  if (method === 'POST' && path.startsWith('/faults/')) {
    const modelId = decodePathSegment(path.slice('/faults/'.length));
    if (modelId === undefined) throw unknownUrl(method, ADMIN_PREFIX + path);
    return sendJson(res, 200, admin.addFaults(modelId, await readJsonBody(req)));
  }
  if (method === 'GET' && path === '/keys') return sendJson(res, 200, admin.getKeys());
  if (method === 'PUT' && path === '/keys') {
    return sendJson(res, 200, admin.setRevokedKeys(readRevokedLabels(await readJsonBody(req))));
  }
  if (method === 'GET' && path === '/stats') return sendJson(res, 200, admin.getStats());
  if (method === 'PUT' && path === '/recording') {
    return sendJson(res, 200, admin.setRecording(await readJsonBody(req)));
  }
  if (method === 'GET' && path === '/requests') return sendJson(res, 200, admin.getRecordedRequests());
  if (method === 'POST' && path === '/reset') {
    admin.reset();
    res.writeHead(204).end();
    return;
  }
  throw unknownUrl(method, ADMIN_PREFIX + path);
}

function readRevokedLabels(body: unknown): string[] {
  const revoked = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).revoked : undefined;
  if (!Array.isArray(revoked) || !revoked.every((label) => typeof label === 'string')) {
    throw invalidRequest('revoked must be a list of key labels, e.g. { "revoked": ["primary"] }', 'revoked');
  }
  return revoked;
}
