import { Injectable } from '@nestjs/common';
import { formatPico } from '../metrics/cost';
import { ShadowSpendRepository, type ShadowSpendState } from './shadow-spend.repository';

/**
 * The shadow stage's spend cap, exact across replicas: a shadow call reserves its worst case (the
 * prompt's upper bound and max_tokens, or the model's output cap, at catalog prices) before it is
 * sent, and settles to its real cost after. Reaching the cap refuses the call and marks the stage's
 * spend exhausted, which ends the stage early.
 */
@Injectable()
export class ShadowLedger {
  constructor(private readonly spend: ShadowSpendRepository) {}

  reserve(canaryId: string, maxSpendUsd: number, worstPico: bigint, at: Date): Promise<boolean> {
    return this.spend.reserve(canaryId, capOf(maxSpendUsd), formatPico(worstPico), at);
  }

  settle(canaryId: string, worstPico: bigint, costPico: bigint): Promise<void> {
    return this.spend.settle(canaryId, formatPico(worstPico), formatPico(costPico));
  }

  stateOf(canaryId: string): Promise<ShadowSpendState | null> {
    return this.spend.stateOf(canaryId);
  }
}

function capOf(usd: number): string {
  return usd.toFixed(12);
}
