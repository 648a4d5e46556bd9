import * as signInAlert from '../../email-templates/sign-in-alert.ts'
import type { Db } from '../db/client.ts'
import type { Env } from '../env.ts'
import { formatAddress } from '../email-headers.ts'
import { enqueueEmail } from '../email/outbox.ts'
import { brandOf, loadSenderSettings } from '../email/sender.ts'
import type { User } from './users.ts'

// The email a user gets when their account is being guessed at (users.ts decides when: at most
// once an hour), through the outbox like every email.

export async function enqueueSignInAlert(
  db: Db,
  env: Env,
  user: Pick<User, 'name' | 'email'>,
  failures: number,
  now: Date,
): Promise<string | null> {
  const sender = await loadSenderSettings(db, env)
  const rendered = signInAlert.render({
    brand: brandOf(sender),
    name: user.name,
    failures,
    signInUrl: `${env.APP_ORIGIN}/login`,
  })
  return enqueueEmail(db, {
    category: 'transactional',
    to: formatAddress(user.name, user.email),
    recipient: user.email,
    ...rendered,
    template: 'sign-in-alert',
    now,
  })
}
