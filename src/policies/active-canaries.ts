import { Injectable } from '@nestjs/common';

/**
 * NOTIFYed (payload: the canary's id) in the transaction of every canary change, so that what
 * follows the active canaries in memory (the shadow stages) learns of a pause within a second.
 */
export const ACTIVE_CANARIES_CHANNEL = 'switchyard_canaries';

/** A canary that is not over (pending, running or paused), as the policy map shows it. */
export interface ActiveCanary {
  id: string;
  flagKey: string;
  variant: string;
  /** The flag's variant the treatment is compared with (a canary budget's shadow_only sends traffic there). */
  controlVariant: string;
  state: string;
  stage: { index: number; percentage: number } | null;
  /** `shadow` while the canary's shadow stage runs (users all on the control), else `live`. */
  phase: 'shadow' | 'live';
  /** The shadow stage of the plan, and when it started; null without one. */
  shadow: {
    percentage: number;
    durationSeconds: number;
    maxSpendUsd: number;
    maxConcurrency: number;
  } | null;
  shadowStartedAt: string | null;
}

/**
 * Where the policy map learns which canaries are under way. The canary module registers its source
 * at start-up (as it registers with the guardrail's exemptions), so policies/ knows nothing of
 * canaries and nothing here imports the canary module.
 */
@Injectable()
export class ActiveCanaries {
  private source: () => Promise<ActiveCanary[]> = () => Promise.resolve([]);

  provide(source: () => Promise<ActiveCanary[]>): void {
    this.source = source;
  }

  list(): Promise<ActiveCanary[]> {
    return this.source();
  }
}
