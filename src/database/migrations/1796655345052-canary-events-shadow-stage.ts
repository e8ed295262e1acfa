import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A canary event of the shadow stage has no stage: `stage` is null for it (the shadow stage comes
 * before the first live stage, index 0, which its events used to share). Events stored before are
 * told apart by order: those of a canary with a shadow plan written before its `shadow_passed` (all
 * of them when it never passed) are the shadow stage's; `shadow_passed` itself already holds the
 * stage it led into.
 */
export class CanaryEventsShadowStage1796655345052 implements MigrationInterface {
  name = 'CanaryEventsShadowStage1796655345052';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE canary_events ALTER COLUMN stage DROP NOT NULL`);
    await runner.query(`
      UPDATE canary_events event SET stage = NULL
        FROM canaries canary
       WHERE event.canary_id = canary.id
         AND canary.shadow IS NOT NULL
         AND event.id < COALESCE(
               (SELECT min(passed.id) FROM canary_events passed
                 WHERE passed.canary_id = canary.id AND passed.type = 'shadow_passed'),
               'Infinity'::numeric)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`UPDATE canary_events SET stage = 0 WHERE stage IS NULL`);
    await runner.query(`ALTER TABLE canary_events ALTER COLUMN stage SET NOT NULL`);
  }
}
