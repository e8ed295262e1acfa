import { Injectable } from '@nestjs/common';
import type { ShadowSummary } from '@switchyard/stats';
import type { ShadowPairEntity } from './entities/shadow-pair.entity';
import { ShadowPairWriter } from './shadow-pair-writer';
import { type ShadowExamples, type ShadowPairRow, ShadowPairsRepository } from './shadow-pairs.repository';

/** The shadow stage's pairs: written by the gateway's shadow calls, read by the canary's verdict and its API. */
@Injectable()
export class ShadowPairs {
  constructor(
    private readonly pairs: ShadowPairsRepository,
    private readonly writer: ShadowPairWriter,
  ) {}

  /** Queued for the next batch (ShadowPairWriter), off the request path. */
  record(row: ShadowPairRow, flag: string): void {
    this.writer.enqueue(row, flag);
  }

  summary(canaryId: string, from: Date, to: Date): Promise<ShadowSummary> {
    return this.pairs.summary(canaryId, from, to);
  }

  examples(canaryId: string, from: Date, to: Date): Promise<ShadowExamples> {
    return this.pairs.examples(canaryId, from, to);
  }

  list(canaryId: string, disagree: boolean, limit: number): Promise<ShadowPairEntity[]> {
    return this.pairs.list(canaryId, disagree, limit);
  }
}
