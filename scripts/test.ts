// `npm test`: the checks, then every test (`npm test -- <vitest arguments>` passes them on).
// The formatting check runs beside the type check and the build: each keeps one core busy, so on
// two cores the checks take the type check's time plus the build's (~48 s), not the sum (~64 s).
// The build follows the type check rather than running beside it: both write `.astro/`.
import { spawn } from 'node:child_process'

const root = new URL('..', import.meta.url).pathname
const bin = (name: string) => `${root}node_modules/.bin/${name}`

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit' })
    child.once('error', () => resolve(1))
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}

const typecheckThenBuild = async () =>
  (await run(bin('astro'), ['check', '--minimumSeverity', 'error'])) || run(bin('astro'), ['build'])

const [built, formatted] = await Promise.all([
  typecheckThenBuild(),
  run(bin('prettier'), ['--check', '.']),
])
if (built || formatted) process.exit(built || formatted)
process.exit(await run(bin('vitest'), ['run', ...process.argv.slice(2)]))
