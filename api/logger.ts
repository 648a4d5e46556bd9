// The one logger: JSON lines in production, readable lines in development, nothing when silent.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
type Fields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: Fields): void
  info(msg: string, fields?: Fields): void
  warn(msg: string, fields?: Fields): void
  error(msg: string, fields?: Fields): void
  child(fields: Fields): Logger
  /** False when lines at this level are dropped: lets hot paths skip building them. */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

export interface LoggerOptions {
  level: LogLevel
  format: 'json' | 'pretty'
  write?: (line: string) => void
}

export function createLogger(options: LoggerOptions, bound: Fields = {}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'))
  const log = (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Fields) => {
    if (order[level] < order[options.level]) return
    const all = { ...bound, ...fields }
    if (options.format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...serialize(all) }))
    } else {
      const extra = Object.entries(serialize(all))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')
      const time = new Date().toISOString().slice(11, 23)
      write(`${time} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? ' ' + extra : ''}`)
    }
  }
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
    enabled: (level) => order[level] >= order[options.level],
  }
}

function serialize(fields: Fields): Fields {
  const out: Fields = {}
  for (const [key, value] of Object.entries(fields))
    out[key] = value instanceof Error ? serializeError(value) : value
  return out
}

/**
 * An error as a log field. A failed query (drizzle's DrizzleQueryError) carries its parameters
 * in `params` and in its message and stack, and the database's own error may quote values in
 * `detail` or `where` (`Key (email)=(…) already exists`): those are personal data, so a failed
 * query is logged as its SQL text, SQLSTATE code and the database's message only.
 */
export function serializeError(err: Error, depth = 0): Fields {
  const cause =
    err.cause instanceof Error && depth < 4 ? serializeError(err.cause, depth + 1) : undefined
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in err) {
    // A database error (node-postgres or PGlite). Data exceptions (class 22) quote the value
    // after a colon (`invalid input syntax for type uuid: "…"`): keep only the problem.
    const message = code.startsWith('22') ? err.message.split(':')[0]! : err.message
    const names: Fields = {}
    for (const key of ['table', 'column', 'constraint'] as const) {
      const value = (err as Partial<Record<typeof key, unknown>>)[key]
      if (typeof value === 'string') names[key] = value
    }
    return { name: err.name, code, message, ...names, ...(cause ? { cause } : {}) }
  }
  if ('params' in err && 'query' in err && typeof err.query === 'string') {
    const first = err.stack?.indexOf('\n    at ') ?? -1
    return {
      name: err.name,
      message: 'Failed query',
      query: err.query,
      ...(first === -1 ? {} : { stack: `${err.name}: Failed query${err.stack!.slice(first)}` }),
      ...(cause ? { cause } : {}),
    }
  }
  return {
    name: err.name,
    message: err.message,
    stack: err.stack,
    ...(cause ? { cause } : err.cause !== undefined ? { cause: err.cause } : {}),
  }
}
