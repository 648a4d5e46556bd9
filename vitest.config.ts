import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

// Three kinds of test, by file name:
//   unit   *.test.ts            pure functions, templates, the grader engine: no database
//   db     *.db.test.ts         through a real database: PGlite (one per worker, emptied between
//                               files), and again on PostgreSQL when TEST_DATABASE_URL is set (CI)
//   e2e    *.e2e.test.ts        real Chromium: the built production server (tests/e2e/), and
//                               Lighthouse auditing the grader's fixture pages
// `npm test` runs all of them; `npm run test:fast` unit + db on PGlite; `npm run test:e2e` e2e.
const postgres = process.env.TEST_DATABASE_URL
  ? [
      {
        extends: true as const,
        test: {
          name: 'db-postgres',
          include: ['tests/**/*.db.test.ts'],
          env: { TEST_DB_ENGINE: 'postgres' },
          // As the PGlite project: without it every file imported the app, Drizzle and pg anew
          // (~1.2 s of CPU a file; the project took 167 s on 2 cores instead of 78 s).
          isolate: false,
        },
      },
    ]
  : []

export default defineConfig({
  test: {
    exclude: ['tests/bench/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Every core: the tests wait on databases, sockets and child processes as much as they compute
    // (vitest's default leaves one core idle: 101 s instead of 66 s for test:fast on 2 cores).
    maxWorkers: availableParallelism(),
    globalSetup: ['tests/global-setup.ts'],
    // What the npm scripts load before a command (api/module-hooks.ts): ~1.3 s of CPU less for
    // every worker that imports Drizzle.
    execArgv: ['--import', './api/module-hooks.ts'],
    // CI asks for a JSON report to count passed and failed tests.
    reporters: process.env.VITEST_JSON_REPORT
      ? ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT }]]
      : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          exclude: [
            'tests/**/*.db.test.ts',
            'tests/**/*.e2e.test.ts',
            'tests/bench/**',
            'node_modules/**',
          ],
          pool: 'threads',
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'db',
          include: ['tests/**/*.db.test.ts'],
          env: { TEST_DB_ENGINE: 'pglite' },
          // Files share their worker's loaded modules and its one PGlite (tests/db-fixtures.ts)
          // instead of importing the app, Drizzle and PGlite and opening a database anew for each
          // file. Module-level state in api/ is memoization only (formatters, the offer catalog,
          // the library-scan worker).
          isolate: false,
        },
      },
      ...postgres,
      {
        extends: true,
        // A browser test's steps take seconds on a quiet machine; the budget is for a loaded one
        // (30 s ran out with the CPUs shared five ways).
        test: {
          name: 'e2e',
          include: ['tests/**/*.e2e.test.ts'],
          testTimeout: 120_000,
          // A worker runs its files one after another in one process instead of a process each:
          // each file starts its own server and browser, and shares no state but the harness's.
          isolate: false,
        },
      },
    ],
  },
})
