import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ChatCompletionsEndpoint } from './chat-completions-endpoint';
import { invalidApiKey, invalidRequest, unknownUrl } from './openai-error';
import { ADMIN_PREFIX, routeAdmin, type SimulatorAdmin, type SimulatorKeysState } from './simulator-admin-routes';
import {
  answerError,
  connectableHost,
  decodePathSegment,
  listen,
  pathOf,
  RequestLifetime,
  sendJson,
} from './simulator-http';
import { SimulatorModels } from './simulator-models';
import { assertValidModelsAndKeys, assertValidOptions, type SimulatorOptions } from './simulator-options';
import type { ModelProfile } from './simulator-profile';
import { readRecordingLimit, type RecordedRequest, SimulatorRecording } from './simulator-recording';
import { SimulatorStats, type SimulatorStatsSnapshot } from './simulator-stats';

export { OpenAiHttpError } from './openai-error';
export type { SimulatorKeysState } from './simulator-admin-routes';
export type { ScriptedFault } from './simulator-faults';
export type { SimulatorModelOptions, SimulatorOptions } from './simulator-options';
export type { ModelProfile, ModelProfilePatch, LatencyProfile } from './simulator-profile';
export type { SimulatorCall, SimulatorStatsSnapshot } from './simulator-stats';
export type { RecordedRequest } from './simulator-recording';

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_SEED = 42;
/** Longer than the usual client/proxy idle timeouts, so clients, not the server, close idle connections. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Fixed rather than "now", so /v1/models answers identically on every run. */
const MODEL_CREATED = 1_700_000_000;

/**
 * A simulated OpenAI-compatible provider on plain `node:http`: the upstream the gateway talks to in dev,
 * tests and benchmarks. Outcomes (rate limits, errors, latency, cut streams) come from a seeded RNG per
 * model, so a given seed and profile replay the same sequence.
 *
 * API: POST /v1/chat/completions (JSON or SSE; ChatCompletionsEndpoint), GET /v1/models,
 * GET /v1/models/:id — Bearer key required. Admin, no auth (a local test double): the routes under
 * /_simulator (simulator-admin-routes.ts), each one of the public methods below.
 */
export class SimulatedProvider implements SimulatorAdmin {
  private readonly host: string;
  private readonly models: SimulatorModels;
  /** Key value -> label. A Map lookup keeps the hot path cheap; this is a local test double. */
  private readonly labelsByKey = new Map<string, string>();
  private readonly revokedLabels = new Set<string>();
  private apiKeys: Record<string, string>;
  private readonly stats = new SimulatorStats();
  private readonly recording = new SimulatorRecording();
  private readonly completions: ChatCompletionsEndpoint;

  private server?: Server;
  private boundPort?: number;
  /** Destroying these in stop() also ends every in-flight wait and stream (see RequestLifetime). */
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: SimulatorOptions) {
    assertValidOptions(options);
    this.host = options.host ?? DEFAULT_HOST;
    this.models = new SimulatorModels(options.seed ?? DEFAULT_SEED, options.models);
    this.apiKeys = {};
    this.setApiKeys(options.apiKeys);
    this.completions = new ChatCompletionsEndpoint(
      this.models,
      (req) => this.authenticate(req),
      this.stats,
      this.recording,
    );
  }

  /**
   * Serves `models` with `apiKeys` from now on, without a restart (the app's catalog was reloaded):
   * a new model starts from its profile, a removed one answers 404, and one that stays keeps its
   * state (profile changes, queued faults, random stream) unless its configured profile changed.
   * Throws, changing nothing, when the options are invalid.
   */
  reconfigure(options: Pick<SimulatorOptions, 'models' | 'apiKeys'>): void {
    assertValidModelsAndKeys(options);
    this.models.replace(options.models);
    this.setApiKeys(options.apiKeys);
  }

  private setApiKeys(apiKeys: Record<string, string>): void {
    this.apiKeys = { ...apiKeys };
    this.labelsByKey.clear();
    for (const [label, key] of Object.entries(apiKeys)) this.labelsByKey.set(key, label);
    for (const label of this.revokedLabels) if (!(label in apiKeys)) this.revokedLabels.delete(label);
  }

  // ---- lifecycle ----

  /** Starts listening; resolves to the bound port (a free one when `port` is 0). */
  async start(): Promise<number> {
    if (this.server) throw new Error('SimulatedProvider is already started');
    const server = createServer({ noDelay: true }, (req, res) => this.onRequest(req, res));
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    // Must outlast keepAliveTimeout, or Node may cut a reused connection while a request's headers arrive.
    server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    try {
      await listen(server, this.options.port, this.host);
    } catch (error) {
      this.server = undefined;
      throw error;
    }
    this.boundPort = (server.address() as AddressInfo).port;
    return this.boundPort;
  }

  /** Closes the server at once: ends in-flight waits and streams, and destroys every open socket. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.boundPort = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  get port(): number {
    if (this.boundPort === undefined) throw new Error('SimulatedProvider is not started');
    return this.boundPort;
  }

  /** The OpenAI base URL, e.g. http://127.0.0.1:4010/v1. */
  get url(): string {
    return `http://${connectableHost(this.host)}:${this.port}/v1`;
  }

  // ---- admin operations (also reachable over HTTP under /_simulator) ----

  getProfiles(): Record<string, ModelProfile> {
    return this.models.profiles();
  }

  /** Throws a 404 OpenAiHttpError when the model is not served. */
  assertServes(modelId: string): void {
    this.models.require(modelId);
  }

  /** Merges `patch` into the model's profile. Throws OpenAiHttpError: 404 unknown model, 400 naming a bad field. */
  updateProfile(modelId: string, patch: unknown): ModelProfile {
    return this.models.updateProfile(modelId, patch);
  }

  /** Queues `count` copies of `fault` for the model; returns how many are now queued. */
  addFaults(modelId: string, body: unknown): { queued: number } {
    return this.models.addFaults(modelId, body);
  }

  getKeys(): SimulatorKeysState {
    return { labels: Object.keys(this.apiKeys), revoked: [...this.revokedLabels] };
  }

  /** Replaces the set of revoked key labels. Throws a 400 OpenAiHttpError for an unknown label. */
  setRevokedKeys(labels: string[]): SimulatorKeysState {
    const known = Object.keys(this.apiKeys);
    const unknown = labels.filter((label) => !known.includes(label));
    if (unknown.length > 0) {
      throw invalidRequest(`unknown key label(s): ${unknown.join(', ')} (known: ${known.join(', ')})`, 'revoked');
    }
    this.revokedLabels.clear();
    for (const label of labels) this.revokedLabels.add(label);
    return this.getKeys();
  }

  getStats(): SimulatorStatsSnapshot {
    return this.stats.snapshot();
  }

  /** Keeps the bodies of the last `requests` chat completion requests (0: none, the default). */
  setRecording(body: unknown): { requests: number } {
    const limit = readRecordingLimit(body);
    if (typeof limit === 'string') throw invalidRequest(limit, 'requests');
    this.recording.setLimit(limit);
    return { requests: limit };
  }

  /** The recorded request bodies, oldest first. */
  getRecordedRequests(): { recording: number; requests: RecordedRequest[] } {
    return { recording: this.recording.size, requests: this.recording.list() };
  }

  /** Back to the state right after construction: profiles, keys, stats, completion ids and RNGs. */
  reset(): void {
    this.models.reset();
    this.revokedLabels.clear();
    this.stats.reset();
    this.recording.reset();
    this.completions.reset();
  }

  // ---- request handling ----

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res, RequestLifetime.of(res)).catch((error: unknown) => answerError(res, error));
  }

  private async route(req: IncomingMessage, res: ServerResponse, lifetime: RequestLifetime): Promise<void> {
    const method = req.method ?? 'GET';
    const path = pathOf(req.url);
    if (path === '/v1/chat/completions' && method === 'POST') return this.completions.handle(req, res, lifetime);
    if (path === '/v1/models' && method === 'GET') {
      this.authenticate(req);
      return sendJson(res, 200, { object: 'list', data: this.models.ids().map(describeModel) });
    }
    if (path.startsWith('/v1/models/') && method === 'GET') {
      this.authenticate(req);
      const encodedId = path.slice('/v1/models/'.length);
      const id = decodePathSegment(encodedId) ?? encodedId;
      return sendJson(res, 200, describeModel(this.models.require(id).id));
    }
    if (path.startsWith(`${ADMIN_PREFIX}/`)) return routeAdmin(this, req, res, method, path.slice(ADMIN_PREFIX.length));
    throw unknownUrl(method, path);
  }

  /** Returns the key's label. Never puts the key in the error: the 401 body is fixed text. */
  private authenticate(req: IncomingMessage): string {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const label = match ? this.labelsByKey.get(match[1]) : undefined;
    if (label === undefined || this.revokedLabels.has(label)) throw invalidApiKey();
    return label;
  }
}

function describeModel(id: string) {
  return { id, object: 'model', created: MODEL_CREATED, owned_by: 'switchyard-simulator' };
}
