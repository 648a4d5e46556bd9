// Account mail: the invitation and the password reset link, enqueued in the transaction that
// creates the one-time token, so a token never exists without its email or the other way round.

import * as passwordReset from '../../email-templates/password-reset.ts'
import * as userInvitation from '../../email-templates/user-invitation.ts'
import type { Db } from '../db/client.ts'
import type { Env } from '../env.ts'
import { formatAddress } from '../email-headers.ts'
import { enqueueEmail } from './outbox.ts'
import { brandOf, loadSenderSettings } from './sender.ts'

type Person = { name: string; email: string }

/**
 * The templates of account mail: a link that sets the password of the account it is sent to. The
 * outbox does not send one once that account is disabled (the link would be refused anyway).
 */
export const ACCOUNT_LINK_TEMPLATES: readonly string[] = ['user-invitation', 'password-reset']

export async function enqueueInvitationEmail(
  db: Db,
  env: Env,
  input: {
    invitee: Person & { role: userInvitation.Role }
    inviter: Person
    url: string
    expiresAt: Date
  },
  now: Date,
): Promise<string | null> {
  const sender = await loadSenderSettings(db, env)
  const rendered = userInvitation.render({
    brand: brandOf(sender),
    inviteeName: input.invitee.name,
    inviterName: input.inviter.name,
    role: input.invitee.role,
    setPasswordUrl: input.url,
    expiresInDays: Math.max(
      1,
      Math.round((input.expiresAt.getTime() - now.getTime()) / 86_400_000),
    ),
  })
  return enqueueEmail(db, {
    category: 'transactional',
    to: formatAddress(input.invitee.name, input.invitee.email),
    recipient: input.invitee.email,
    ...rendered,
    template: 'user-invitation',
    now,
  })
}

export async function enqueuePasswordResetEmail(
  db: Db,
  env: Env,
  input: { user: Person; url: string; expiresAt: Date; requestedFrom?: string | null },
  now: Date,
): Promise<string | null> {
  const sender = await loadSenderSettings(db, env)
  const rendered = passwordReset.render({
    brand: brandOf(sender),
    name: input.user.name,
    resetUrl: input.url,
    expiresInMinutes: Math.max(1, Math.round((input.expiresAt.getTime() - now.getTime()) / 60_000)),
    requestedFrom: input.requestedFrom ?? null,
  })
  return enqueueEmail(db, {
    category: 'transactional',
    to: formatAddress(input.user.name, input.user.email),
    recipient: input.user.email,
    ...rendered,
    template: 'password-reset',
    now,
  })
}
