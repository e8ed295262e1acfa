import { Module } from '@nestjs/common';
import { AlertsModule } from '../alerts/alerts.module';
import { MetricsModule } from '../metrics/metrics.module';
import { FlagsModule } from './flags.module';
import { Guardrail } from './guardrail';
import { GuardrailExemptions } from './guardrail-exemptions';
import { GuardrailScheduler } from './guardrail.scheduler';

/**
 * The flags' own safety job (see Guardrail). Apart from FlagsModule so that evaluating flags (routing)
 * does not depend on metrics and alerts; exports only the exemptions a watcher (canary) registers with.
 */
@Module({
  imports: [FlagsModule, MetricsModule, AlertsModule],
  providers: [GuardrailExemptions, Guardrail, GuardrailScheduler],
  exports: [GuardrailExemptions],
})
export class GuardrailModule {}
