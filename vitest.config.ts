import { defineConfig } from 'vitest/config';

// Two projects: every test on the embedded PGlite, and the database tests
// (*.db.test.ts) again on the PostgreSQL server. test/run-tests.mjs picks
// which run (the postgres one needs a reachable server).
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'pglite',
          include: ['test/**/*.test.ts'],
          exclude: ['test/bench/**', 'node_modules/**'],
          env: { RAPPORT_TEST_BACKEND: 'pglite' },
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ['test/**/*.db.test.ts'],
          exclude: ['test/bench/**', 'node_modules/**'],
          env: { RAPPORT_TEST_BACKEND: 'postgres' },
        },
      },
    ],
  },
});
