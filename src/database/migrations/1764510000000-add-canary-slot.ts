import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tick period a canary was last judged in. Replicas claim it with a conditional UPDATE, so each
 * period gets exactly one verdict (the earlier guard, "the last verdict is under half a tick old",
 * let two replicas whose timers were half a tick apart both judge).
 */
export class AddCanarySlot1764510000000 implements MigrationInterface {
  name = 'AddCanarySlot1764510000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE canaries ADD COLUMN last_slot_start timestamptz NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE canaries DROP COLUMN last_slot_start`);
  }
}
