// Shared jest configuration for every workspace. Test file names tell the tier:
// *.spec.ts (unit, no I/O), *.int-spec.ts (real PostgreSQL + Kafka), *.e2e-spec.ts (real processes).
// TEST_TIER=unit|int|e2e narrows a run to one tier.
'use strict';
const path = require('node:path');

const tiers = { unit: 'spec', int: 'int-spec', e2e: 'e2e-spec' };

/**
 * @param {string} dir the workspace folder (pass __dirname)
 * @param {{ infrastructure?: boolean }} [options] infrastructure: start/verify Kafka and PostgreSQL once per run
 */
exports.config = (dir, options = {}) => {
  const only = process.env.TEST_TIER ? tiers[process.env.TEST_TIER] : undefined;
  if (process.env.TEST_TIER && !only) {
    throw new Error(`TEST_TIER must be one of ${Object.keys(tiers).join(', ')}`);
  }
  const suffixes = only ? [only] : Object.values(tiers);
  return {
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: suffixes.flatMap((s) => [
      `<rootDir>/src/**/*.${s}.ts`,
      `<rootDir>/test/**/*.${s}.ts`,
    ]),
    transform: {
      '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(dir, 'tsconfig.json') }],
    },
    moduleFileExtensions: ['ts', 'js', 'json'],
    testTimeout: 60_000,
    passWithNoTests: true,
    ...(options.infrastructure
      ? {
          globalSetup: require.resolve('./dist/global-setup.js'),
          globalTeardown: require.resolve('./dist/global-teardown.js'),
        }
      : {}),
  };
};
