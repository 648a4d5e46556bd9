// `npm start`: build the site if anything it is built from changed, then run the server.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

import { demoSeedDefault } from '../api/demo/start-default.ts'
import { loadDotEnv } from '../api/env.ts'

loadDotEnv()
// `npm start` is the try-it command: an empty embedded database gets the demo team and pipeline
// (not on a server other machines can reach). Production runs `node server.ts` with
// NODE_ENV=production, where nothing is seeded unless asked.
const demo = demoSeedDefault(process.env)
if (demo.value) process.env.DEMO_SEED = demo.value
if (demo.note) console.log(demo.note)
const root = new URL('..', import.meta.url).pathname
const entry = join(root, 'dist/server/entry.mjs')

function newestMtime(path: string): number {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = stat.mtimeMs
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)))
  return newest
}

const inputs = ['src', 'api', 'email-templates', 'public', 'astro.config.mjs', 'package-lock.json']
  .map((p) => join(root, p))
  .filter(existsSync)
const stale = !existsSync(entry) || inputs.some((p) => newestMtime(p) > statSync(entry).mtimeMs)
if (stale) {
  console.log('Building the site (sources changed since the last build)…')
  const result = spawnSync(
    process.execPath,
    [join(root, 'node_modules/astro/bin/astro.mjs'), 'build'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  )
  if (result.status !== 0) process.exit(result.status ?? 1)
}

const { main } = await import('../server.ts')
await main()
