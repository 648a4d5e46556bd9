// What every command-line tool reads first: the environment, with `.env` beside it.
import { EnvError, loadDotEnv, parseEnv, type Env } from '../api/env.ts'

/** The configuration from the environment and `.env`; a bad one is said and exits 78 (EX_CONFIG). */
export function cliEnv(tool: string): Env {
  loadDotEnv()
  try {
    return parseEnv()
  } catch (err) {
    if (!(err instanceof EnvError)) throw err
    console.error(`${tool}: ${err.message}`)
    process.exit(78)
  }
}
