import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface ShadowSpendState {
  capUsd: string;
  reservedUsd: string;
  spentUsd: string;
  calls: number;
  refused: number;
  exhaustedAt: Date | null;
}

/**
 * Every query on `shadow_spend`: the shadow stage's spend cap as one row per canary that every
 * replica reserves from with one conditional statement, so the cap holds however many replicas
 * call at once: a reservation lands only if spent + reserved + its worst case ≤ cap.
 */
@Injectable()
export class ShadowSpendRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Reserves `worstUsd` under the cap; false (and the refusal counted, the cap marked reached) when it does not fit. */
  async reserve(canaryId: string, capUsd: string, worstUsd: string, at: Date): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO shadow_spend AS spend (canary_id, cap_usd, reserved_usd, calls)
       SELECT $1, $2::numeric, $3::numeric, 1 WHERE $3::numeric <= $2::numeric
       ON CONFLICT (canary_id) DO UPDATE
          SET reserved_usd = spend.reserved_usd + $3::numeric, calls = spend.calls + 1
        WHERE spend.spent_usd + spend.reserved_usd + $3::numeric <= spend.cap_usd
       RETURNING 1`,
      [canaryId, capUsd, worstUsd],
    );
    if (rows.length > 0) return true;
    await this.dataSource.query(
      `INSERT INTO shadow_spend AS spend (canary_id, cap_usd, refused, exhausted_at) VALUES ($1, $2::numeric, 1, $3)
       ON CONFLICT (canary_id) DO UPDATE
          SET refused = spend.refused + 1, exhausted_at = coalesce(spend.exhausted_at, $3)`,
      [canaryId, capUsd, at],
    );
    return false;
  }

  /** Moves a call's reservation to what it really cost (never more than it reserved). */
  async settle(canaryId: string, worstUsd: string, costUsd: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE shadow_spend
          SET reserved_usd = greatest(reserved_usd - $2::numeric, 0),
              spent_usd = spent_usd + least($3::numeric, $2::numeric)
        WHERE canary_id = $1`,
      [canaryId, worstUsd, costUsd],
    );
  }

  async stateOf(canaryId: string): Promise<ShadowSpendState | null> {
    const rows: Array<{
      cap_usd: string;
      reserved_usd: string;
      spent_usd: string;
      calls: number;
      refused: number;
      exhausted_at: Date | null;
    }> = await this.dataSource.query(`SELECT * FROM shadow_spend WHERE canary_id = $1`, [canaryId]);
    const row = rows[0];
    if (!row) return null;
    return {
      capUsd: row.cap_usd,
      reservedUsd: row.reserved_usd,
      spentUsd: row.spent_usd,
      calls: row.calls,
      refused: row.refused,
      exhaustedAt: row.exhausted_at,
    };
  }
}
