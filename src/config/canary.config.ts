import { registerAs } from '@nestjs/config';
import { Type } from 'class-transformer';
import { IsIn, IsNumber, Max, Min } from 'class-validator';
import { Fraction, IntegerBetween, readEnv, validateConfig } from './validate-config';

const tickMessage = 'CANARY_TICK_SECONDS must be a number of seconds between 0.1 and 3600';

class CanaryEnvironment {
  // Fractions of a second are allowed so that tests and the demo can run whole rollouts in seconds.
  @Type(() => Number)
  @IsNumber({}, { message: tickMessage })
  @Min(0.1, { message: tickMessage })
  @Max(3600, { message: tickMessage })
  CANARY_TICK_SECONDS = 10;

  @IntegerBetween('CANARY_MAX_STAGE_EXTENSIONS', 0, 100)
  CANARY_MAX_STAGE_EXTENSIONS = 2;

  @IntegerBetween('SHADOW_ANSWER_CHARS', 0, 1_000_000)
  SHADOW_ANSWER_CHARS = 2000;

  @IsIn(['true', 'false'], { message: 'GUARDRAIL_ENABLED must be true or false' })
  GUARDRAIL_ENABLED = 'true';

  @Fraction('GUARDRAIL_MAX_ERROR_RATE')
  GUARDRAIL_MAX_ERROR_RATE = 0.05;

  @IntegerBetween('GUARDRAIL_MIN_REQUESTS', 1, 1_000_000)
  GUARDRAIL_MIN_REQUESTS = 100;

  @IntegerBetween('GUARDRAIL_WINDOW_SECONDS', 1, 86_400)
  GUARDRAIL_WINDOW_SECONDS = 300;
}

export interface CanaryConfig {
  tickMs: number;
  /** How many times a stage's duration may be added while it holds or an arm lacks data, before the canary pauses. */
  maxStageExtensions: number;
  guardrail: { enabled: boolean; maxErrorRate: number; minRequests: number; windowMs: number };
  /** Characters of each answer a disagreeing shadow pair keeps for inspection (0: none). */
  shadowAnswerChars: number;
}

export const CANARY_ENV = Object.keys(new CanaryEnvironment());

export const canaryConfig = registerAs('canary', (): CanaryConfig => {
  const env = validateConfig(CanaryEnvironment, readEnv(CANARY_ENV), 'environment');
  return {
    tickMs: Math.round(env.CANARY_TICK_SECONDS * 1000),
    maxStageExtensions: env.CANARY_MAX_STAGE_EXTENSIONS,
    shadowAnswerChars: env.SHADOW_ANSWER_CHARS,
    guardrail: {
      enabled: env.GUARDRAIL_ENABLED === 'true',
      maxErrorRate: env.GUARDRAIL_MAX_ERROR_RATE,
      minRequests: env.GUARDRAIL_MIN_REQUESTS,
      windowMs: env.GUARDRAIL_WINDOW_SECONDS * 1000,
    },
  };
});
