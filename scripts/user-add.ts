// npm run user:add -- --email E --name N --role admin|rep|sdr [--password-env VAR]
// Without --password-env the password is read from standard input (one line).
import { parseArgs } from 'node:util'
import { cliDeps } from './cli-deps.ts'
import { cliEnv } from './cli-env.ts'
import { createUser, ROLES, type Role } from '../api/accounts/users.ts'

function die(message: string): never {
  console.error(`user:add: ${message}`)
  process.exit(2)
}

let args
try {
  args = parseArgs({
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      'password-env': { type: 'string' },
    },
  }).values
} catch (err) {
  die((err as Error).message)
}
if (!args.email || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(args.email))
  die('--email must be an email address')
if (!args.name?.trim()) die('--name is required')
if (!args.role || !ROLES.includes(args.role as Role))
  die(`--role must be one of ${ROLES.join(', ')}`)

let password: string | undefined
if (args['password-env']) {
  password = process.env[args['password-env']]
  if (!password) die(`environment variable ${args['password-env']} is empty or not set`)
} else {
  if (process.stdin.isTTY) process.stderr.write('Password: ')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]
  if (!password) die('no password given on standard input (or use --password-env VAR)')
}

const env = cliEnv('user:add')
const deps = await cliDeps('user:add', { ...env, LOG_LEVEL: 'warn' })
try {
  const result = await createUser(deps.db, {
    email: args.email,
    name: args.name,
    role: args.role as Role,
    password,
  })
  if (!result.ok) die(result.message)
  console.log(`Added ${result.user.email} (${result.user.role}).`)
} finally {
  await deps.database.close()
}
