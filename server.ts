// `node server.ts`: the production entry (`npm start` runs it after building, scripts/start.ts).
// The module hooks come first (api/module-hooks.ts: ~1.3 s of CPU less at every start), then the
// composition root, api/server.ts, imported only once they are in place: with a static import,
// Node would resolve every module the server loads before any code here runs.
import './api/module-hooks.ts'

const { main } = await import('./api/server.ts')
export { main }

if (import.meta.main) await main()
