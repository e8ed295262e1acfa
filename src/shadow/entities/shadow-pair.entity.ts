import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One shadow call beside the request it copied: both sides' latencies, times to first token,
 * outcomes, tokens, costs and quality signals, and how far the answers agree. The answers
 * themselves (truncated to SHADOW_ANSWER_CHARS) only when they disagree, for inspection.
 */
@Entity({ name: 'shadow_pairs' })
@Index('shadow_pairs_canary_at_idx', ['canaryId', 'at'])
export class ShadowPairEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'canary_id', type: 'uuid' })
  canaryId: string;

  @Column({ type: 'timestamptz' })
  at: Date;

  @Column({ name: 'primary_request_id', type: 'text' })
  primaryRequestId: string;

  @Column({ name: 'shadow_request_id', type: 'text' })
  shadowRequestId: string;

  @Column({ name: 'control_variant', type: 'text' })
  controlVariant: string;

  @Column({ name: 'candidate_variant', type: 'text' })
  candidateVariant: string;

  @Column({ name: 'control_model', type: 'text' })
  controlModel: string;

  @Column({ name: 'candidate_model', type: 'text' })
  candidateModel: string;

  @Column({ name: 'control_outcome', type: 'text' })
  controlOutcome: string;

  @Column({ name: 'candidate_outcome', type: 'text' })
  candidateOutcome: string;

  @Column({ name: 'control_latency_ms', type: 'double precision' })
  controlLatencyMs: number;

  @Column({ name: 'candidate_latency_ms', type: 'double precision' })
  candidateLatencyMs: number;

  @Column({ name: 'control_ttft_ms', type: 'double precision', nullable: true })
  controlTtftMs: number | null;

  @Column({ name: 'candidate_ttft_ms', type: 'double precision', nullable: true })
  candidateTtftMs: number | null;

  @Column({ name: 'control_prompt_tokens', type: 'integer', nullable: true })
  controlPromptTokens: number | null;

  @Column({ name: 'control_completion_tokens', type: 'integer', nullable: true })
  controlCompletionTokens: number | null;

  @Column({ name: 'candidate_prompt_tokens', type: 'integer', nullable: true })
  candidatePromptTokens: number | null;

  @Column({ name: 'candidate_completion_tokens', type: 'integer', nullable: true })
  candidateCompletionTokens: number | null;

  @Column({ name: 'control_cost_usd', type: 'numeric', precision: 20, scale: 12, nullable: true })
  controlCostUsd: string | null;

  @Column({ name: 'candidate_cost_usd', type: 'numeric', precision: 20, scale: 12, nullable: true })
  candidateCostUsd: string | null;

  @Column({ name: 'control_quality', type: 'smallint', nullable: true })
  controlQuality: number | null;

  @Column({ name: 'candidate_quality', type: 'smallint', nullable: true })
  candidateQuality: number | null;

  /** The answers' texts equal after normalisation (case, whitespace, surrounding punctuation); null when either has none. */
  @Column({ name: 'exact_agreement', type: 'boolean', nullable: true })
  exactAgreement: boolean | null;

  /** The same tool names called (as sets); null when neither called a tool. */
  @Column({ name: 'tools_agreement', type: 'boolean', nullable: true })
  toolsAgreement: boolean | null;

  /** Candidate answer length / control answer length; null when the control's is empty. */
  @Column({ name: 'length_ratio', type: 'double precision', nullable: true })
  lengthRatio: number | null;

  /** Names of the tools each side's answer called (recorded, never returned to anyone); null: none. */
  @Column({ name: 'control_tools', type: 'jsonb', nullable: true })
  controlTools: string[] | null;

  @Column({ name: 'candidate_tools', type: 'jsonb', nullable: true })
  candidateTools: string[] | null;

  @Column({ type: 'boolean' })
  disagree: boolean;

  @Column({ name: 'control_answer', type: 'text', nullable: true })
  controlAnswer: string | null;

  @Column({ name: 'candidate_answer', type: 'text', nullable: true })
  candidateAnswer: string | null;
}
