import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  invalidApiKey,
  invalidRequest,
  modelNotFound,
  OpenAiHttpError,
  rateLimited,
  simulatedServerError,
  unknownUrl,
} from './openai-error';
import {
  buildReply,
  parseCompletionRequest,
  toCompletionBody,
  toSseStream,
  type CompletionRequest,
  type SseStream,
} from './simulated-completion';
import { decodePathSegment, pathOf, readJsonBody, RequestLifetime, sendJson } from './simulator-http';
import {
  applyProfilePatch,
  copyProfile,
  defaultModelProfile,
  drawOutcome,
  drawAnswerShape,
  type AnswerShape,
  InvalidProfileError,
  type ModelProfile,
  type ModelProfilePatch,
} from './simulator-profile';
import { readRecordingLimit, type RecordedRequest, SimulatorRecording } from './simulator-recording';
import { SimulatorStats, type SimulatorStatsSnapshot } from './simulator-stats';
import { deriveSeed, SeededRandom } from './seeded-random';

export { OpenAiHttpError } from './openai-error';
export type { ModelProfile, ModelProfilePatch, LatencyProfile } from './simulator-profile';
export type { SimulatorCall, SimulatorStatsSnapshot } from './simulator-stats';
export type { RecordedRequest } from './simulator-recording';

export interface SimulatorModelOptions {
  id: string;
  /** Merged over the defaults; validated at construction (it usually comes from a JSON catalog). */
  profile?: ModelProfilePatch;
}

export interface SimulatorOptions {
  /** 0 = pick a free port; `start()` resolves to the one bound. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 42. */
  seed?: number;
  models: SimulatorModelOptions[];
  /** label -> accepted key value, e.g. { primary: 'sk-..', backup: 'sk-..' }. Stats and errors use labels only. */
  apiKeys: Record<string, string>;
}

export interface SimulatorKeysState {
  labels: string[];
  revoked: string[];
}

interface ModelState {
  readonly id: string;
  /** What reset() returns to; a reconfiguration with a changed profile replaces it. */
  initialProfile: ModelProfile;
  /** Replaced, never mutated, so a request can hold on to the profile it was decided with. */
  profile: ModelProfile;
  rng: SeededRandom;
  /** Draws the shape of each successful answer (drawAnswerShape): its own stream, apart from `rng`'s. */
  shapeRng: SeededRandom;
  /** Draws whether an answer calls a tool (drawAnswerShape), apart from `shapeRng` so its sequences stay put. */
  toolRng: SeededRandom;
  /** Scripted failures answered, in order, before the profile's random outcomes are drawn. */
  faults: ScriptedFault[];
}

/** "The next `count` calls answer `status`": deterministic fault injection for tests and drills. */
export interface ScriptedFault {
  status: number;
  retryAfterSeconds?: number;
  retryAfterMs?: number;
  /** The error body's message instead of the default one (e.g. to see what a gateway passes on). */
  message?: string;
}

/** What an accepted chat completion will be answered with. */
interface Decision {
  request: CompletionRequest;
  profile: ModelProfile;
  latencyMs: number;
  streamFails: boolean;
  shape: AnswerShape;
}

/** Filled in as a chat completion request gets through each check, so even a rejection is recorded fully. */
interface CallSoFar {
  model: string | null;
  keyLabel: string | null;
  stream: boolean;
}

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_SEED = 42;
/** Longer than the usual client/proxy idle timeouts, so clients, not the server, close idle connections. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Fixed rather than "now", so /v1/models answers identically on every run. */
const MODEL_CREATED = 1_700_000_000;
const ADMIN_PREFIX = '/_simulator';
const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
};

/**
 * A simulated OpenAI-compatible provider on plain `node:http`: the upstream the gateway talks to in dev,
 * tests and benchmarks. Outcomes (rate limits, errors, latency, cut streams) come from a seeded RNG per
 * model, so a given seed and profile replay the same sequence.
 *
 * API: POST /v1/chat/completions (JSON or SSE), GET /v1/models, GET /v1/models/:id — Bearer key required.
 * Admin, no auth (a local test double): GET /_simulator/profiles, PUT /_simulator/profiles/:model,
 * POST /_simulator/faults/:model, GET|PUT /_simulator/keys, GET /_simulator/stats,
 * PUT /_simulator/recording + GET /_simulator/requests (request bodies), POST /_simulator/reset.
 */
export class SimulatedProvider {
  private readonly host: string;
  private readonly seed: number;
  private readonly models = new Map<string, ModelState>();
  /** Key value -> label. A Map lookup keeps the hot path cheap; this is a local test double. */
  private readonly labelsByKey = new Map<string, string>();
  private readonly revokedLabels = new Set<string>();
  private apiKeys: Record<string, string>;
  private readonly stats = new SimulatorStats();
  private readonly recording = new SimulatorRecording();
  private completionCount = 0;

  private server?: Server;
  private boundPort?: number;
  /** Destroying these in stop() also ends every in-flight wait and stream (see RequestLifetime). */
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: SimulatorOptions) {
    this.host = options.host ?? DEFAULT_HOST;
    this.seed = options.seed ?? DEFAULT_SEED;
    const problems = checkOptions(options);
    if (problems.length > 0) {
      throw new Error(`Invalid simulator options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    }
    for (const { id, profile } of options.models) this.models.set(id, this.newModel(id, profile));
    this.apiKeys = {};
    this.setApiKeys(options.apiKeys);
  }

  /**
   * Serves `models` with `apiKeys` from now on, without a restart (the app's catalog was reloaded):
   * a new model starts from its profile, a removed one answers 404, and one that stays keeps its
   * state (profile changes, queued faults, random stream) unless its configured profile changed.
   * Throws, changing nothing, when the options are invalid.
   */
  reconfigure(options: Pick<SimulatorOptions, 'models' | 'apiKeys'>): void {
    const problems = [...checkModels(options.models), ...checkApiKeys(options.apiKeys)];
    if (problems.length > 0) {
      throw new Error(`Invalid simulator options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    }
    const wanted = new Set(options.models.map((model) => model.id));
    for (const id of this.models.keys()) if (!wanted.has(id)) this.models.delete(id);
    for (const { id, profile } of options.models) {
      const current = this.models.get(id);
      const initialProfile = applyProfilePatch(defaultModelProfile(), profile);
      if (!current) this.models.set(id, this.newModel(id, profile));
      else if (JSON.stringify(current.initialProfile) !== JSON.stringify(initialProfile)) {
        current.initialProfile = initialProfile;
        current.profile = initialProfile;
      }
    }
    this.setApiKeys(options.apiKeys);
  }

  private newModel(id: string, profile: ModelProfilePatch | undefined): ModelState {
    const initialProfile = applyProfilePatch(defaultModelProfile(), profile);
    return {
      id,
      initialProfile,
      profile: initialProfile,
      rng: this.newRng(id),
      shapeRng: this.newRng(`${id}#shape`),
      toolRng: this.newRng(`${id}#tools`),
      faults: [],
    };
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
    return Object.fromEntries([...this.models.values()].map((model) => [model.id, copyProfile(model.profile)]));
  }

  /** Merges `patch` into the model's profile. Throws OpenAiHttpError: 404 unknown model, 400 naming a bad field. */
  updateProfile(modelId: string, patch: unknown): ModelProfile {
    const model = this.requireModel(modelId);
    try {
      model.profile = applyProfilePatch(model.profile, patch);
    } catch (error) {
      if (error instanceof InvalidProfileError) throw invalidRequest(error.message, 'profile', 'invalid_profile');
      throw error;
    }
    return copyProfile(model.profile);
  }

  /** Queues `count` copies of `fault` for the model; returns how many are now queued. */
  addFaults(modelId: string, body: unknown): { queued: number } {
    const model = this.requireModel(modelId);
    const { fault, count } = readFault(body);
    for (let i = 0; i < count; i++) model.faults.push(fault);
    return { queued: model.faults.length };
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
    for (const model of this.models.values()) {
      model.profile = model.initialProfile;
      model.rng = this.newRng(model.id);
      model.shapeRng = this.newRng(`${model.id}#shape`);
      model.toolRng = this.newRng(`${model.id}#tools`);
      model.faults = [];
    }
    this.revokedLabels.clear();
    this.stats.reset();
    this.recording.reset();
    this.completionCount = 0;
  }

  // ---- request handling ----

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res, RequestLifetime.of(res)).catch((error: unknown) => answerError(res, error));
  }

  private async route(req: IncomingMessage, res: ServerResponse, lifetime: RequestLifetime): Promise<void> {
    const method = req.method ?? 'GET';
    const path = pathOf(req.url);
    if (path === '/v1/chat/completions' && method === 'POST') return this.handleChatCompletion(req, res, lifetime);
    if (path === '/v1/models' && method === 'GET') return this.handleListModels(req, res);
    if (path.startsWith('/v1/models/') && method === 'GET') {
      return this.handleGetModel(req, res, path.slice('/v1/models/'.length));
    }
    if (path.startsWith(`${ADMIN_PREFIX}/`)) return this.handleAdmin(req, res, method, path.slice(ADMIN_PREFIX.length));
    throw unknownUrl(method, path);
  }

  private async handleChatCompletion(
    req: IncomingMessage,
    res: ServerResponse,
    lifetime: RequestLifetime,
  ): Promise<void> {
    const call: CallSoFar = { model: null, keyLabel: null, stream: false };
    let decision: Decision;
    try {
      decision = await this.decide(req, call);
    } catch (error) {
      if (error instanceof OpenAiHttpError) this.stats.record({ ...call, status: error.status });
      throw error;
    }
    this.stats.record({ ...call, status: 200 });

    // median 0 means no timer at all: benchmarks measure the gateway, not setTimeout.
    if (decision.latencyMs > 0) await lifetime.sleep(decision.latencyMs);
    if (lifetime.isOver) return this.stats.countAborted();

    const { request, profile } = decision;
    const id = `chatcmpl-sim-${++this.completionCount}`;
    const reply = buildReply(request, profile.completionTokens, id, Math.floor(Date.now() / 1000), decision.shape);
    if (!request.stream) return sendJson(res, 200, toCompletionBody(reply));
    const stream = toSseStream(reply, request.includeUsage);
    return this.writeStream(res, stream, profile.tokensPerSecond, decision.streamFails, lifetime);
  }

  /** The per-request decisions, in order: auth, body, model, then the model's RNG. Throws the rejection. */
  private async decide(req: IncomingMessage, call: CallSoFar): Promise<Decision> {
    call.keyLabel = this.authenticate(req);
    const body = await readJsonBody(req);
    const request = parseCompletionRequest(body);
    call.stream = request.stream;
    const model = this.requireModel(request.model);
    call.model = model.id;
    this.recording.record({ model: model.id, keyLabel: call.keyLabel, body });

    const fault = model.faults.shift();
    if (fault) throw scriptedFailure(model.id, fault);
    const profile = model.profile;
    const outcome = drawOutcome(profile, model.rng);
    if (outcome.kind === 'rate_limited') throw rateLimited(model.id, profile.retryAfterSeconds);
    if (outcome.kind === 'server_error') throw simulatedServerError(profile.errorStatus);
    return {
      request,
      profile,
      latencyMs: outcome.latencyMs,
      streamFails: outcome.streamFails,
      shape: drawAnswerShape(profile, model.shapeRng, model.toolRng, request.tools),
    };
  }

  private async writeStream(
    res: ServerResponse,
    stream: SseStream,
    tokensPerSecond: number,
    streamFails: boolean,
    lifetime: RequestLifetime,
  ): Promise<void> {
    res.writeHead(200, SSE_HEADERS);
    if (streamFails) return this.cutStream(res, stream.head + (stream.tokens[0] ?? ''));
    if (tokensPerSecond <= 0) {
      // One write: the fastest the simulator can be when it is the upstream of a benchmark.
      res.end(stream.head + stream.tokens.join('') + stream.tail);
      return;
    }
    const intervalMs = 1000 / tokensPerSecond;
    res.write(stream.head + (stream.tokens[0] ?? ''));
    for (const token of stream.tokens.slice(1)) {
      await lifetime.sleep(intervalMs);
      if (lifetime.isOver) return this.stats.countAborted();
      res.write(token);
    }
    res.end(stream.tail);
  }

  /** Sends what the client should see before the failure, then destroys the socket (no [DONE], no final chunk). */
  private cutStream(res: ServerResponse, beforeFailure: string): void {
    this.stats.countStreamFailure();
    res.write(beforeFailure, () => res.destroy());
  }

  private handleListModels(req: IncomingMessage, res: ServerResponse): void {
    this.authenticate(req);
    const data = [...this.models.keys()].map(describeModel);
    sendJson(res, 200, { object: 'list', data });
  }

  private handleGetModel(req: IncomingMessage, res: ServerResponse, encodedId: string): void {
    this.authenticate(req);
    const id = decodePathSegment(encodedId) ?? encodedId;
    sendJson(res, 200, describeModel(this.requireModel(id).id));
  }

  private async handleAdmin(req: IncomingMessage, res: ServerResponse, method: string, path: string): Promise<void> {
    if (method === 'GET' && path === '/profiles') return sendJson(res, 200, this.getProfiles());
    if (method === 'PUT' && path.startsWith('/profiles/')) {
      const modelId = decodePathSegment(path.slice('/profiles/'.length));
      if (modelId === undefined) throw unknownUrl(method, ADMIN_PREFIX + path);
      this.requireModel(modelId); // 404 before reading a body that would be thrown away
      return sendJson(res, 200, this.updateProfile(modelId, await readJsonBody(req)));
    }
    if (method === 'POST' && path.startsWith('/faults/')) {
      const modelId = decodePathSegment(path.slice('/faults/'.length));
      if (modelId === undefined) throw unknownUrl(method, ADMIN_PREFIX + path);
      return sendJson(res, 200, this.addFaults(modelId, await readJsonBody(req)));
    }
    if (method === 'GET' && path === '/keys') return sendJson(res, 200, this.getKeys());
    if (method === 'PUT' && path === '/keys') {
      return sendJson(res, 200, this.setRevokedKeys(readRevokedLabels(await readJsonBody(req))));
    }
    if (method === 'GET' && path === '/stats') return sendJson(res, 200, this.getStats());
    if (method === 'PUT' && path === '/recording') {
      return sendJson(res, 200, this.setRecording(await readJsonBody(req)));
    }
    if (method === 'GET' && path === '/requests') return sendJson(res, 200, this.getRecordedRequests());
    if (method === 'POST' && path === '/reset') {
      this.reset();
      res.writeHead(204).end();
      return;
    }
    throw unknownUrl(method, ADMIN_PREFIX + path);
  }

  /** Returns the key's label. Never puts the key in the error: the 401 body is fixed text. */
  private authenticate(req: IncomingMessage): string {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const label = match ? this.labelsByKey.get(match[1]) : undefined;
    if (label === undefined || this.revokedLabels.has(label)) throw invalidApiKey();
    return label;
  }

  private requireModel(id: string): ModelState {
    const model = this.models.get(id);
    if (!model) throw modelNotFound(id);
    return model;
  }

  private newRng(modelId: string): SeededRandom {
    return new SeededRandom(deriveSeed(this.seed, modelId));
  }
}

function describeModel(id: string) {
  return { id, object: 'model', created: MODEL_CREATED, owned_by: 'switchyard-simulator' };
}

function readFault(body: unknown): { fault: ScriptedFault; count: number } {
  const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const { status, count = 1, retryAfterSeconds, retryAfterMs, message } = input;
  const problems: string[] = [];
  if (!Number.isInteger(status) || (status as number) < 400 || (status as number) > 599) {
    problems.push('status must be an HTTP error status between 400 and 599');
  }
  if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > 10_000) {
    problems.push('count must be an integer between 1 and 10000');
  }
  if (retryAfterSeconds !== undefined && !(Number.isInteger(retryAfterSeconds) && (retryAfterSeconds as number) >= 0)) {
    problems.push('retryAfterSeconds must be a non-negative integer');
  }
  if (retryAfterMs !== undefined && !(typeof retryAfterMs === 'number' && retryAfterMs >= 0)) {
    problems.push('retryAfterMs must be a non-negative number');
  }
  if (message !== undefined && !(typeof message === 'string' && message.length <= 10_000)) {
    problems.push('message must be a string of at most 10000 characters');
  }
  if (problems.length > 0) throw invalidRequest(problems.join('; '), 'fault');
  const fault: ScriptedFault = { status: status as number };
  if (retryAfterSeconds !== undefined) fault.retryAfterSeconds = retryAfterSeconds as number;
  if (retryAfterMs !== undefined) fault.retryAfterMs = retryAfterMs as number;
  if (message !== undefined) fault.message = message as string;
  return { fault, count: count as number };
}

function scriptedFailure(model: string, fault: ScriptedFault): OpenAiHttpError {
  const headers: Record<string, string> = {};
  if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds);
  if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
  if (fault.status === 429) {
    return new OpenAiHttpError(
      429,
      'requests',
      fault.message ?? `Rate limit reached for ${model} (scripted).`,
      null,
      'rate_limit_exceeded',
      headers,
    );
  }
  if (fault.status === 401) return invalidApiKey();
  const type = fault.status >= 500 ? 'server_error' : 'invalid_request_error';
  const message = fault.message ?? `Scripted ${fault.status} for ${model}.`;
  return new OpenAiHttpError(fault.status, type, message, null, null, headers);
}

function readRevokedLabels(body: unknown): string[] {
  const revoked = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).revoked : undefined;
  if (!Array.isArray(revoked) || !revoked.every((label) => typeof label === 'string')) {
    throw invalidRequest('revoked must be a list of key labels, e.g. { "revoked": ["primary"] }', 'revoked');
  }
  return revoked;
}

/** Writes the error if the response can still carry one; otherwise the connection is beyond saving. */
function answerError(res: ServerResponse, error: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (error instanceof OpenAiHttpError) {
    sendJson(res, error.status, error.toBody(), error.headers);
    return;
  }
  // A simulator bug or a client that vanished mid-body. The details stay out of the body on purpose.
  sendJson(res, 500, new OpenAiHttpError(500, 'server_error', 'Simulator internal error.').toBody());
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A host clients can connect to: wildcard addresses become loopback, IPv6 gets brackets. */
function connectableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Every problem with the options, by name. Never includes a key value. */
function checkOptions(options: SimulatorOptions): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    problems.push('port must be an integer between 0 and 65535');
  }
  if (options.seed !== undefined && !Number.isInteger(options.seed)) problems.push('seed must be an integer');
  problems.push(...checkModels(options.models), ...checkApiKeys(options.apiKeys));
  return problems;
}

function checkModels(models: SimulatorModelOptions[]): string[] {
  if (!Array.isArray(models) || models.length === 0) return ['models must list at least one model'];
  const problems: string[] = [];
  const seen = new Set<string>();
  models.forEach(({ id, profile }, index) => {
    if (typeof id !== 'string' || id === '') {
      problems.push(`models[${index}].id must be a non-empty string`);
      return;
    }
    if (seen.has(id)) problems.push(`models[${index}].id "${id}" is listed twice`);
    seen.add(id);
    try {
      applyProfilePatch(defaultModelProfile(), profile);
    } catch (error) {
      if (!(error instanceof InvalidProfileError)) throw error;
      problems.push(...error.problems.map((problem) => `models[${index}] (${id}).profile: ${problem}`));
    }
  });
  return problems;
}

function checkApiKeys(apiKeys: Record<string, string>): string[] {
  const entries = typeof apiKeys === 'object' && apiKeys !== null ? Object.entries(apiKeys) : [];
  if (entries.length === 0) return ['apiKeys must map at least one label to a key'];
  const problems: string[] = [];
  const labelByKey = new Map<string, string>();
  for (const [label, key] of entries) {
    if (typeof key !== 'string' || key === '') {
      problems.push(`apiKeys.${label} must be a non-empty string`);
    } else if (labelByKey.has(key)) {
      problems.push(`apiKeys.${label} has the same value as apiKeys.${labelByKey.get(key)}`);
    } else {
      labelByKey.set(key, label);
    }
  }
  return problems;
}
