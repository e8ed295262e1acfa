import { Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { formatPico, picoOf } from '../metrics/cost';
import { ShadowSpendRepository, type ShadowSpendState } from './shadow-spend.repository';

/** A chunk is this many worst cases of the call that asks for it (less near the cap). */
const CHUNK_CALLS = 64n;
/** Chunks a call may see taken by the calls opened with it before it gives up (the cap itself refuses with null). */
const MAX_CHUNK_TRIES = 20;
/** Chunks are handed back this often (their calls settled), so `spent_usd` lags the calls by about this. */
const ROTATE_MS = 1_000;

/** Headroom this replica holds for one canary's shadow calls, spent locally. */
interface Chunk {
  canaryId: string;
  granted: bigint;
  /** Worst cases of the calls in flight on it. */
  inFlight: bigint;
  spent: bigint;
  calls: number;
  open: boolean;
}

/** A shadow call's reservation: settled once with its real cost. */
export interface ShadowTicket {
  chunk: Chunk;
  worst: bigint;
}

/**
 * The shadow stage's spend cap, exact across replicas. A call reserves its worst case (the prompt's
 * upper bound and max_tokens, or the model's output cap, at catalog prices) before it is sent and
 * settles to its real cost after — both in memory, from a chunk of headroom this replica took from
 * `shadow_spend` under the row's lock (about 64 worst cases, a quarter of what is left near the cap).
 * A chunk that cannot fit the next call is closed and a new one taken; chunks are handed back every
 * second with what their calls cost. So the database sees a few statements a second, not one per
 * call, and spent + reserved never passes the cap. A call that finds no headroom is refused, counted,
 * and marks the cap reached, which ends the stage.
 */
@Injectable()
export class ShadowLedger implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(ShadowLedger.name);
  private readonly current = new Map<string, Chunk>();
  private readonly opening = new Map<string, Promise<Chunk | undefined>>();
  private readonly ensured = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly spend: ShadowSpendRepository) {}

  onModuleInit(): void {
    this.timer = setInterval(() => this.rotate(), ROTATE_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.current.values()].map((chunk) => this.close(chunk)));
  }

  /** Reserves `worst` picodollars for a call; undefined when the cap leaves no room for it. */
  async reserve(canaryId: string, maxSpendUsd: number, worst: bigint, at: Date): Promise<ShadowTicket | undefined> {
    for (let attempt = 0; attempt < MAX_CHUNK_TRIES; attempt++) {
      const chunk = this.current.get(canaryId);
      if (chunk && fits(chunk, worst)) {
        chunk.inFlight += worst;
        chunk.calls++;
        return { chunk, worst };
      }
      if (chunk) void this.close(chunk);
      const opened = await this.open(canaryId, maxSpendUsd, worst, at);
      if (!opened) return undefined;
    }
    return undefined;
  }

  /** The call's real cost (never more than its worst case is charged). */
  async settle(ticket: ShadowTicket, cost: bigint): Promise<void> {
    const { chunk, worst } = ticket;
    chunk.inFlight -= worst;
    chunk.spent += cost < worst ? cost : worst;
    if (!chunk.open && chunk.inFlight === 0n) await this.release(chunk);
  }

  stateOf(canaryId: string): Promise<ShadowSpendState | null> {
    return this.spend.stateOf(canaryId);
  }

  private open(canaryId: string, maxSpendUsd: number, worst: bigint, at: Date): Promise<Chunk | undefined> {
    let opening = this.opening.get(canaryId);
    if (!opening) {
      opening = this.take(canaryId, maxSpendUsd, worst, at).finally(() => this.opening.delete(canaryId));
      this.opening.set(canaryId, opening);
    }
    return opening;
  }

  private async take(canaryId: string, maxSpendUsd: number, worst: bigint, at: Date): Promise<Chunk | undefined> {
    if (!this.ensured.has(canaryId)) {
      await this.spend.ensure(canaryId, maxSpendUsd.toFixed(12));
      this.ensured.add(canaryId);
    }
    const granted = await this.spend.grant(canaryId, formatPico(worst), formatPico(worst * CHUNK_CALLS), at);
    if (granted === null) return undefined;
    const chunk: Chunk = { canaryId, granted: picoOf(granted), inFlight: 0n, spent: 0n, calls: 0, open: true };
    const previous = this.current.get(canaryId);
    if (previous) void this.close(previous);
    this.current.set(canaryId, chunk);
    return chunk;
  }

  private close(chunk: Chunk): Promise<void> {
    if (this.current.get(chunk.canaryId) === chunk) this.current.delete(chunk.canaryId);
    if (!chunk.open) return Promise.resolve();
    chunk.open = false;
    return chunk.inFlight === 0n ? this.release(chunk) : Promise.resolve();
  }

  private async release(chunk: Chunk): Promise<void> {
    try {
      await this.spend.release(chunk.canaryId, formatPico(chunk.granted), formatPico(chunk.spent), chunk.calls);
    } catch (error) {
      // Left reserved: the cap stays safe (what is reserved is never spent twice); only the figures lag.
      this.logger.warn(`shadow spend chunk not handed back: ${(error as Error).message}`);
    }
  }

  /** Hands every chunk back once its calls are settled; the next call takes a fresh one. */
  private rotate(): void {
    for (const chunk of [...this.current.values()]) void this.close(chunk);
  }
}

function fits(chunk: Chunk, worst: bigint): boolean {
  return chunk.open && chunk.spent + chunk.inFlight + worst <= chunk.granted;
}
