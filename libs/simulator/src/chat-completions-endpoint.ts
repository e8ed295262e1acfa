import type { IncomingMessage, ServerResponse } from 'node:http';
import { OpenAiHttpError, rateLimited, simulatedServerError } from './openai-error';
import { parseCompletionRequest, type CompletionRequest } from './completion-request';
import { buildReply, toCompletionBody, toSseStream, withMalformedEvent, type SseStream } from './simulated-completion';
import { readJsonBody, type RequestLifetime, sendJson } from './simulator-http';
import { scriptedFailure } from './simulator-faults';
import type { SimulatorModels } from './simulator-models';
import {
  drawAnswerShape,
  drawMalformedEvent,
  drawOutcome,
  type AnswerShape,
  type MalformedEventAt,
  type ModelProfile,
} from './simulator-profile';
import type { SimulatorRecording } from './simulator-recording';
import type { SimulatorStats } from './simulator-stats';

/** What an accepted chat completion will be answered with. */
interface Decision {
  request: CompletionRequest;
  profile: ModelProfile;
  latencyMs: number;
  streamFails: boolean;
  shape: AnswerShape;
  malformedEvent: MalformedEventAt;
}

/** A queued fault a streamed call gets as its stream's first event (ScriptedFault.asStreamEvent). */
interface ErrorEventDecision {
  errorEvent: OpenAiHttpError;
}

/** Filled in as a chat completion request gets through each check, so even a rejection is recorded fully. */
interface CallSoFar {
  model: string | null;
  keyLabel: string | null;
  stream: boolean;
}

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
};

/**
 * POST /v1/chat/completions: decides the answer (key, body, model, then the model's queued faults and
 * random draws), counts and records the call, waits the drawn latency, then answers as one JSON body or
 * as an SSE stream paced at the profile's tokens per second, cut short when the draw says it fails,
 * with a cut-off chunk in it when the draw says it carries one; a queued fault meant as a stream's first
 * event answers a streamed call with a 200 stream of that error alone.
 */
export class ChatCompletionsEndpoint {
  private completionCount = 0;

  constructor(
    private readonly models: SimulatorModels,
    /** The key's label, or a 401 thrown. */
    private readonly authenticate: (req: IncomingMessage) => string,
    private readonly stats: SimulatorStats,
    private readonly recording: SimulatorRecording,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, lifetime: RequestLifetime): Promise<void> {
    const call: CallSoFar = { model: null, keyLabel: null, stream: false };
    let decision: Decision | ErrorEventDecision;
    try {
      decision = await this.decide(req, call);
    } catch (error) {
      if (error instanceof OpenAiHttpError) this.stats.record({ ...call, status: error.status });
      throw error;
    }
    this.stats.record({ ...call, status: 200 });
    if ('errorEvent' in decision) return this.writeErrorEvent(res, decision.errorEvent);

    // median 0 means no timer at all: benchmarks measure the gateway, not setTimeout.
    if (decision.latencyMs > 0) await lifetime.sleep(decision.latencyMs);
    if (lifetime.isOver) return this.stats.countAborted();

    const { request, profile } = decision;
    const id = `chatcmpl-sim-${++this.completionCount}`;
    const reply = buildReply(request, profile.completionTokens, id, Math.floor(Date.now() / 1000), decision.shape);
    if (!request.stream) return sendJson(res, 200, toCompletionBody(reply));
    let stream = toSseStream(reply, request.includeUsage);
    if (decision.malformedEvent !== 'none') {
      stream = withMalformedEvent(stream, decision.malformedEvent);
      this.stats.countMalformedEvent();
    }
    return this.writeStream(res, stream, profile.tokensPerSecond, decision.streamFails, lifetime);
  }

  /** Completion ids start again from 1. */
  reset(): void {
    this.completionCount = 0;
  }

  /**
   * The per-request decisions, in order: auth, body, model, then the model's RNG. Throws the rejection;
   * a queued fault meant as a stream's first event is returned instead for a streamed call.
   */
  private async decide(req: IncomingMessage, call: CallSoFar): Promise<Decision | ErrorEventDecision> {
    call.keyLabel = this.authenticate(req);
    const body = await readJsonBody(req);
    const request = parseCompletionRequest(body);
    call.stream = request.stream;
    const model = this.models.require(request.model);
    call.model = model.id;
    this.recording.record({ model: model.id, keyLabel: call.keyLabel, body });

    const fault = model.faults.shift();
    if (fault && fault.asStreamEvent && request.stream) return { errorEvent: scriptedFailure(model.id, fault) };
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
      malformedEvent: drawMalformedEvent(profile, model.eventRng),
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

  /** A 200 stream whose only event is the error, without [DONE]: the provider failed after its headers. */
  private writeErrorEvent(res: ServerResponse, error: OpenAiHttpError): void {
    this.stats.countErrorEvent();
    res.writeHead(200, SSE_HEADERS);
    res.end(`data: ${JSON.stringify(error.toBody())}\n\n`);
  }

  /** Sends what the client should see before the failure, then destroys the socket (no [DONE], no final chunk). */
  private cutStream(res: ServerResponse, beforeFailure: string): void {
    this.stats.countStreamFailure();
    res.write(beforeFailure, () => res.destroy());
  }
}
