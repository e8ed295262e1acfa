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
 * Every query on `shadow_spend`: the shadow stage's spend cap as one row per canary, shared by every
 * replica. A replica takes headroom in chunks (`reserved_usd`) under the row's lock, never past the
 * cap, spends them locally call by call (ShadowLedger), and hands each chunk back with what it
 * really spent: spent + reserved ≤ cap at every moment, whatever the replicas do.
 */
@Injectable()
export class ShadowSpendRepository {
  constructor(private readonly dataSource: DataSource) {}

  async ensure(canaryId: string, capUsd: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO shadow_spend (canary_id, cap_usd) VALUES ($1, $2::numeric) ON CONFLICT (canary_id) DO NOTHING`,
      [canaryId, capUsd],
    );
  }

  /**
   * Grants a chunk of headroom: `wantedUsd`, or a quarter of what is left if that is less (so that
   * other replicas still find some near the cap), never less than `worstUsd`; null (the refusal
   * counted, the cap marked reached) when not even `worstUsd` is left.
   */
  async grant(canaryId: string, worstUsd: string, wantedUsd: string, at: Date): Promise<string | null> {
    // An UPDATE answers [rows, affected] through TypeORM's query().
    const [rows]: [Array<{ granted: string }>, number] = await this.dataSource.query(
      `WITH current AS (
         SELECT cap_usd - spent_usd - reserved_usd AS free FROM shadow_spend WHERE canary_id = $1 FOR UPDATE
       ), chunk AS (
         SELECT greatest($2::numeric, trunc(least($3::numeric, free / 4), 12)) AS granted, free FROM current
       )
       UPDATE shadow_spend SET reserved_usd = reserved_usd + chunk.granted
         FROM chunk
        WHERE canary_id = $1 AND chunk.free >= chunk.granted
       RETURNING chunk.granted::text AS granted`,
      [canaryId, worstUsd, wantedUsd],
    );
    if (rows.length > 0) return rows[0].granted;
    await this.dataSource.query(
      `UPDATE shadow_spend SET refused = refused + 1, exhausted_at = coalesce(exhausted_at, $2) WHERE canary_id = $1`,
      [canaryId, at],
    );
    return null;
  }

  /** Hands a chunk back: its headroom leaves `reserved`, what its calls really cost goes to `spent`. */
  async release(canaryId: string, grantedUsd: string, spentUsd: string, calls: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE shadow_spend
          SET reserved_usd = greatest(reserved_usd - $2::numeric, 0),
              spent_usd = spent_usd + least($3::numeric, $2::numeric),
              calls = calls + $4
        WHERE canary_id = $1`,
      [canaryId, grantedUsd, spentUsd, calls],
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
