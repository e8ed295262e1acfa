export * from './simulated-provider';
export { applyProfilePatch, defaultModelProfile, InvalidProfileError } from './simulator-profile';
export { SeededRandom } from './seeded-random';
