// The production server (server.ts, as `npm start` runs it) on a test's clock: it reads the time
// as TEST_CLOCK_START (an ISO instant) when it starts, moving on at the real pace from there, so
// a test can be at an hour where two time zones' dates differ whenever it runs.
import { main } from '../../server.ts'

const start = Date.parse(process.env.TEST_CLOCK_START ?? '')
if (Number.isNaN(start)) throw new Error('TEST_CLOCK_START must be an ISO instant')
const began = performance.now()
await main({ now: () => new Date(start + Math.floor(performance.now() - began)) })
