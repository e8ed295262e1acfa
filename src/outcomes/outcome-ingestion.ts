import { Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedCaller } from '../access/scopes';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { statusOf } from '../common/domain-error-status';
import { ExposureLookup, type ExposureAnswer } from '../metrics/exposure-lookup';
import { RequestLookup } from '../metrics/request-lookup';
import { envelopeOf, parseOutcomeEvent, type OutcomeEvent } from './outcome-event';
import { OutcomeMetricsService } from './outcome-metrics.service';
import { OutcomeEventRefused } from './outcome.errors';
import { OutcomeWriter, type QueuedOutcome } from './outcome-writer';

/** What one event of a batch came to: its id when accepted, else the refusal. */
export type OutcomeResult =
  | { index: number; status: 202; id: string }
  | { index: number; status: number; error: { code: string; message: string; param: string | null } };

export type IngestionAnswer = { id: string } | { accepted: number; refused: number; results: OutcomeResult[] };

/**
 * POST /v1/outcomes: one event or a batch, each checked on its own (definition, value, subject,
 * time), request-unit events against their request (it exists, the event is not before it nor past
 * the attribution window), user-unit events against their user's exposures (one in the attribution
 * window before the event): one indexed query each for the batch. Accepted events go to
 * OutcomeWriter. While the database cannot be read, events are checked against what is in memory and
 * accepted: what the database alone can say (the request exists, the user was exposed) is then not
 * checked, and nothing is lost.
 */
@Injectable()
export class OutcomeIngestion {
  private readonly logger = new Logger(OutcomeIngestion.name);

  constructor(
    private readonly definitions: OutcomeMetricsService,
    private readonly requests: RequestLookup,
    private readonly exposures: ExposureLookup,
    private readonly writer: OutcomeWriter,
    private readonly clock: Clock,
  ) {}

  /** A single event: its id, or the refusal thrown. A batch: a result per event. */
  async ingest(body: unknown, caller: AuthenticatedCaller): Promise<IngestionAnswer> {
    const envelope = envelopeOf(body);
    const now = this.clock.now();
    const keys = envelope.items.map((item) => metricKeyOf(item)).filter((key): key is string => key !== undefined);
    const metrics = await this.definitions.definitionsFor(keys);
    const results: Array<OutcomeEvent | DomainError> = envelope.items.map((item, index) => {
      try {
        return parseOutcomeEvent(item, envelope.batch ? `events[${index}]` : '', (key) => metrics.get(key), now);
      } catch (error) {
        if (error instanceof DomainError) return error;
        throw error;
      }
    });
    await Promise.all([this.checkRequests(results, envelope.batch), this.checkExposures(results, envelope.batch)]);
    const accepted = results.filter((result): result is OutcomeEvent => !(result instanceof DomainError));
    const queued: QueuedOutcome[] = accepted.map((event) => ({ ...event, receivedAt: now, apiKeyId: caller.id }));
    const taken = this.writer.enqueue(queued);
    const full = new Set(queued.slice(taken).map((event) => event.id));
    const answers: OutcomeResult[] = results.map((result, index) => {
      if (result instanceof DomainError) return refusal(index, result);
      if (full.has(result.id))
        return refusal(
          index,
          new OutcomeEventRefused(
            'unavailable',
            'outcome_queue_full',
            'The outcome queue is full; retry shortly',
            null,
          ),
        );
      return { index, status: 202, id: result.id };
    });
    if (!envelope.batch) {
      const only = results[0];
      if (only instanceof DomainError) throw only;
      if (full.size > 0)
        throw new OutcomeEventRefused(
          'unavailable',
          'outcome_queue_full',
          'The outcome queue is full; retry shortly',
          null,
        );
      return { id: (only as OutcomeEvent).id };
    }
    const acceptedCount = answers.filter((answer) => answer.status === 202).length;
    return { accepted: acceptedCount, refused: answers.length - acceptedCount, results: answers };
  }

  /** Request-unit events: the request exists, and the event falls in [its arrival, arrival + window]. */
  private async checkRequests(results: Array<OutcomeEvent | DomainError>, batch: boolean): Promise<void> {
    const ids = [
      ...new Set(
        results.flatMap((result) =>
          result instanceof DomainError || result.requestId === null ? [] : [result.requestId],
        ),
      ),
    ];
    if (ids.length === 0) return;
    let arrivals: Map<string, Date>;
    try {
      arrivals = await this.requests.arrivals(ids);
    } catch (error) {
      this.logger.warn(`request ids of ${ids.length} outcome events not checked (${(error as Error).message})`);
      return;
    }
    results.forEach((result, index) => {
      if (result instanceof DomainError || result.requestId === null) return;
      const field = (name: string) => (batch ? `events[${index}].${name}` : name);
      const arrival = arrivals.get(result.requestId);
      if (!arrival) {
        results[index] = new OutcomeEventRefused(
          'not_found',
          'unknown_request',
          `${field('requestId')} "${result.requestId}" is not a request Switchyard answered (use the x-switchyard-request-id header of the answer)`,
          field('requestId'),
        );
      } else if (result.occurredAt < arrival) {
        results[index] = new OutcomeEventRefused(
          'invalid',
          'occurred_before_exposure',
          `${field('occurredAt')} ${result.occurredAt.toISOString()} is before request ${result.requestId} arrived (${arrival.toISOString()})`,
          field('occurredAt'),
        );
      } else if (result.occurredAt.getTime() > arrival.getTime() + result.windowSeconds * 1000) {
        results[index] = new OutcomeEventRefused(
          'invalid',
          'outside_attribution_window',
          `${field('occurredAt')} ${result.occurredAt.toISOString()} is past the ${result.windowSeconds} s attribution window of ${result.metricKey} after request ${result.requestId}`,
          field('occurredAt'),
        );
      }
    });
  }

  /**
   * User-unit events: the user has an exposure (a request of theirs a flag routed) in
   * [occurredAt - the metric's window, occurredAt], so the event has something to count for. Without
   * one, the canary and the summary would drop it silently; the caller is told instead.
   */
  private async checkExposures(results: Array<OutcomeEvent | DomainError>, batch: boolean): Promise<void> {
    const indexes = results.flatMap((result, index) =>
      result instanceof DomainError || result.userId === null ? [] : [index],
    );
    if (indexes.length === 0) return;
    const events = indexes.map((index) => results[index] as OutcomeEvent & { userId: string });
    let answers: ExposureAnswer[];
    try {
      answers = await this.exposures.check(
        events.map((event) => ({
          userId: event.userId,
          occurredAt: event.occurredAt,
          windowSeconds: event.windowSeconds,
        })),
      );
    } catch (error) {
      this.logger.warn(`exposures of ${events.length} outcome events not checked (${(error as Error).message})`);
      return;
    }
    answers.forEach((answer, i) => {
      if (answer.kind !== 'exposed')
        results[indexes[i]] = exposureRefusal(events[i], answer, batch ? `events[${indexes[i]}].` : '');
    });
  }
}

/** Why a user-unit event has no exposure to count for, naming the user's field, the time and what to do. */
function exposureRefusal(
  event: OutcomeEvent & { userId: string },
  answer: Exclude<ExposureAnswer, { kind: 'exposed' }>,
  path: string,
): OutcomeEventRefused {
  const openFeature = event.source === 'openfeature';
  const userField = `${path}${openFeature ? 'context.targetingKey' : 'userId'}`;
  const timeField = `${path}${openFeature ? 'timestamp' : 'occurredAt'}`;
  const user = `${userField} ${JSON.stringify(clip(event.userId))}`;
  const at = event.occurredAt.toISOString();
  switch (answer.kind) {
    case 'never':
      return new OutcomeEventRefused(
        'invalid',
        'no_exposure_in_window',
        `${user} has no exposure: Switchyard routed no request of this user through a flag, so ${event.metricKey} at ${at} would count for nothing (report the user id the flag was evaluated for, sent as x-user-id or the body's user on /v1/chat/completions)`,
        userField,
      );
    case 'before':
      return new OutcomeEventRefused(
        'invalid',
        'occurred_before_exposure',
        `${timeField} ${at} is before the first exposure of ${user} (${answer.firstAt.toISOString()}): an outcome counts for the exposures before it (send the time the outcome happened, after the user's request)`,
        timeField,
      );
    case 'expired':
      return new OutcomeEventRefused(
        'invalid',
        'no_exposure_in_window',
        `${timeField} ${at} is past the ${event.windowSeconds} s attribution window of ${event.metricKey}: the last exposure of ${user} before it was at ${answer.lastAt.toISOString()} (report outcomes within the window of the user's request, or lengthen the metric's attributionWindowSeconds)`,
        timeField,
      );
  }
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function refusal(index: number, error: DomainError): OutcomeResult {
  return { index, status: statusOf(error), error: { code: error.code, message: error.message, param: error.param } };
}

function metricKeyOf(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const key = (item as Record<string, unknown>).metric ?? (item as Record<string, unknown>).trackingEventName;
  return typeof key === 'string' ? key : undefined;
}
