import { tmpdir } from 'node:os'
import { join } from 'node:path'

// How the tests start Node processes of the app: servers and command-line tools
// (tests/e2e/harness.ts) and the worker processes of database tests (outbox-kill.db.test.ts).
// Here rather than in the end-to-end harness so that a database test need not load Playwright.

/**
 * Node flags for the servers and command-line tools the tests start. `--liftoff-only` keeps the
 * embedded database's WebAssembly on V8's baseline compiler: a test process lives seconds, and
 * optimising PGlite's functions cost ~3 s of CPU a server start, in background threads, for code
 * it hardly runs (measured: 7.0–7.6 s of CPU from spawn to 5 s after "listening", 4.3 s with it;
 * the end-to-end project 434 → 350 s on 2 cores). The same code runs; production keeps the optimiser.
 * The module hooks are what the npm scripts load before a command (server.ts loads them itself).
 * Relative to the project's root: start the process there.
 */
export const NODE_FLAGS = ['--liftoff-only', '--import', './api/module-hooks.ts']

/**
 * And their environment's share of it: Node's compile cache, so each start after the first reads
 * the app's compiled modules instead of compiling them again (~0.35 s of CPU a server start, 8%).
 */
export const NODE_ENV_VARS = { NODE_COMPILE_CACHE: join(tmpdir(), 'frontdoor-tests', 'node-cache') }
