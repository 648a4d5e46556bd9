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
  for (const [key, value] of Object.entries(fields)) {
    out[key] =
      value instanceof Error
        ? { name: value.name, message: value.message, stack: value.stack, cause: value.cause }
        : value
  }
  return out
}
