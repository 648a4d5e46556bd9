import { defineConfig } from 'vitest/config'

// Two projects: everything on embedded PGlite, and the database tests (*.db.test.ts) again on a
// real PostgreSQL server when TEST_DATABASE_URL is set (CI sets it).
const postgres = process.env.TEST_DATABASE_URL
  ? [
      {
        extends: true as const,
        test: { name: 'postgres', include: ['tests/**/*.db.test.ts'], env: { TEST_DB_ENGINE: 'postgres' } },
        // Isolated (98 s; 44 s sharing workers): in one of three full runs with shared workers the
        // two grading-queue tests on PostgreSQL waited 10 s for page requests that never came;
        // no isolated run has failed that way at the default worker count. Cause not found yet.
      },
    ]
  : []

export default defineConfig({
  test: {
    exclude: ['tests/bench/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['tests/global-setup.ts'],
    // CI asks for a JSON report to count passed and failed tests.
    reporters: process.env.VITEST_JSON_REPORT ? ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT }]] : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'pglite',
          include: ['tests/**/*.test.ts'],
          env: { TEST_DB_ENGINE: 'pglite' },
          // Files share their worker's loaded modules instead of importing the app, Drizzle and
          // PGlite anew for each of 62 files (measured: 497 → 323 s for the whole suite on a
          // 2-core machine). Each file still gets its own database; module-level state in api/ is
          // memoization only (formatters, the offer catalog, the library-scan worker).
          isolate: false,
        },
      },
      ...postgres,
    ],
  },
})
