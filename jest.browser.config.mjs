// The browser tests (test/browser/): the real app, Postgres and simulator driven through Chromium
// by playwright-core. Not part of `npm test`, since a fresh machine lacks a browser: run them with
// `npm run test:browser` (.ci/run installs Debian's chromium first). Same setup as the e2e project.
import base from './jest.config.mjs';

const e2e = base.projects.find((project) => project.displayName === 'e2e');

export default {
  ...e2e,
  displayName: 'browser',
  testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
  testTimeout: 180000,
  // Two files at a time, each with its own app and Chromium: the machine's two cores (the suite of eight
  // files took 71 s this way on Dec 7).
  maxWorkers: 2,
};
