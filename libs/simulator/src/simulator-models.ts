import { invalidRequest, modelNotFound } from './openai-error';
import { deriveSeed, SeededRandom } from './seeded-random';
import { readFault, type ScriptedFault } from './simulator-faults';
import type { SimulatorModelOptions } from './simulator-options';
import {
  applyProfilePatch,
  copyProfile,
  defaultModelProfile,
  InvalidProfileError,
  type ModelProfile,
  type ModelProfilePatch,
} from './simulator-profile';

export interface ModelState {
  readonly id: string;
  /** What reset() returns to; a reconfiguration with a changed profile replaces it. */
  initialProfile: ModelProfile;
  /** Replaced, never mutated, so a request can hold on to the profile it was decided with. */
  profile: ModelProfile;
  rng: SeededRandom;
  /** Draws the shape of each successful answer (drawAnswerShape): its own stream, apart from `rng`'s. */
  shapeRng: SeededRandom;
  /** Draws whether an answer calls a tool (drawAnswerShape), apart from `shapeRng` so its sequences stay put. */
  toolRng: SeededRandom;
  /** Draws where a stream carries a malformed event (drawMalformedEvent), apart from the others for the same reason. */
  eventRng: SeededRandom;
  /** Scripted failures answered, in order, before the profile's random outcomes are drawn. */
  faults: ScriptedFault[];
}

/**
 * The served models and what decides their answers: each one's profile, queued faults and random
 * streams, seeded from the simulator's seed and the model's id, so a seed and a profile replay the same
 * sequence whatever other models are served.
 */
export class SimulatorModels {
  private readonly models = new Map<string, ModelState>();

  constructor(
    private readonly seed: number,
    models: SimulatorModelOptions[],
  ) {
    for (const { id, profile } of models) this.models.set(id, this.newModel(id, profile));
  }

  ids(): string[] {
    return [...this.models.keys()];
  }

  /** The model's state; a 404 in OpenAI's shape when it is not served. */
  require(id: string): ModelState {
    const model = this.models.get(id);
    if (!model) throw modelNotFound(id);
    return model;
  }

  /**
   * Serves `models` from now on: a new model starts from its profile, a removed one answers 404, and
   * one that stays keeps its state (profile changes, queued faults, random streams) unless its
   * configured profile changed. The options are already validated.
   */
  replace(models: SimulatorModelOptions[]): void {
    const wanted = new Set(models.map((model) => model.id));
    for (const id of this.models.keys()) if (!wanted.has(id)) this.models.delete(id);
    for (const { id, profile } of models) {
      const current = this.models.get(id);
      const initialProfile = applyProfilePatch(defaultModelProfile(), profile);
      if (!current) this.models.set(id, this.newModel(id, profile));
      else if (JSON.stringify(current.initialProfile) !== JSON.stringify(initialProfile)) {
        current.initialProfile = initialProfile;
        current.profile = initialProfile;
      }
    }
  }

  profiles(): Record<string, ModelProfile> {
    return Object.fromEntries([...this.models.values()].map((model) => [model.id, copyProfile(model.profile)]));
  }

  /** Merges `patch` into the model's profile. Throws OpenAiHttpError: 404 unknown model, 400 naming a bad field. */
  updateProfile(id: string, patch: unknown): ModelProfile {
    const model = this.require(id);
    try {
      model.profile = applyProfilePatch(model.profile, patch);
    } catch (error) {
      if (error instanceof InvalidProfileError) throw invalidRequest(error.message, 'profile', 'invalid_profile');
      throw error;
    }
    return copyProfile(model.profile);
  }

  /** Queues `count` copies of the body's fault for the model; returns how many are now queued. */
  addFaults(id: string, body: unknown): { queued: number } {
    const model = this.require(id);
    const { fault, count } = readFault(body);
    for (let i = 0; i < count; i++) model.faults.push(fault);
    return { queued: model.faults.length };
  }

  /** Every model back to its configured profile, no faults, and its random streams from their start. */
  reset(): void {
    for (const model of this.models.values()) {
      model.profile = model.initialProfile;
      Object.assign(model, this.newStreams(model.id));
      model.faults = [];
    }
  }

  private newModel(id: string, profile: ModelProfilePatch | undefined): ModelState {
    const initialProfile = applyProfilePatch(defaultModelProfile(), profile);
    return { id, initialProfile, profile: initialProfile, ...this.newStreams(id), faults: [] };
  }

  private newStreams(id: string): Pick<ModelState, 'rng' | 'shapeRng' | 'toolRng' | 'eventRng'> {
    return {
      rng: this.newRng(id),
      shapeRng: this.newRng(`${id}#shape`),
      toolRng: this.newRng(`${id}#tools`),
      eventRng: this.newRng(`${id}#events`),
    };
  }

  private newRng(name: string): SeededRandom {
    return new SeededRandom(deriveSeed(this.seed, name));
  }
}
