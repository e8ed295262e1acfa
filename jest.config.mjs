import { availableParallelism } from 'node:os';

// Nest 12 ships ES modules only, so jest runs in ESM mode (see ../shared/STACK-NOTES.md).
const tsJest = ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.test.json' }];
const shared = {
  rootDir: '.',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': tsJest },
  moduleNameMapper: {
    // The one JSON module the app imports; see test/support/default-catalog.ts.
    '^\\./default-catalog\\.json$': '<rootDir>/test/support/default-catalog.ts',
    '^@switchyard/(.*)$': '<rootDir>/libs/$1/src',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
  // Jest's transform cache lives with the project, not in the temp folder, which tests leave empty.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
};

export default {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts', '<rootDir>/ui/**/*.spec.ts'],
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  // A global option (jest ignores it inside a project): e2e files boot apps and Postgres servers,
  // which on a busy 2-core machine can take longer than jest's default 5 s.
  testTimeout: 60000,
  // Jest's default is one worker per core but one, so a single one on a 2-core machine. The e2e
  // files spend most of their time waiting on Postgres and HTTP: two workers there took the suite
  // from 514–698 s to 328 s, with the tests' bounds written for a busy machine.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  testSequencer: '<rootDir>/test/support/slowest-first-sequencer.mjs',
};
