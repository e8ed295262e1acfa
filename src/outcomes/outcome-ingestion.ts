import { Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedCaller } from '../access/scopes';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { statusOf } from '../common/domain-error-status';
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
 * the attribution window: one indexed query for the batch). Accepted events go to OutcomeWriter. While
 * the database cannot be read, events are checked against what is in memory and accepted: what the
 * database alone can say (the request exists) is then not checked, and nothing is lost.
 */
@Injectable()
export class OutcomeIngestion {
  private readonly logger = new Logger(OutcomeIngestion.name);

  constructor(
    private readonly definitions: OutcomeMetricsService,
    private readonly requests: RequestLookup,
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
    await this.checkRequests(results, envelope.batch);
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
}

function refusal(index: number, error: DomainError): OutcomeResult {
  return { index, status: statusOf(error), error: { code: error.code, message: error.message, param: error.param } };
}

function metricKeyOf(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const key = (item as Record<string, unknown>).metric ?? (item as Record<string, unknown>).trackingEventName;
  return typeof key === 'string' ? key : undefined;
}
