import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { mailboxMessages, outbox, users } from '../../../api/db/schema.ts'
import { json, setupTestApp, signedInAs } from '../../helpers.ts'
import { mailboxTransport, testWorker } from './outbox-fixtures.ts'

// Invitations and password resets are mailed through the outbox, in the transaction that makes
// the token; the admin still sees the link.

const ctx = await setupTestApp({
  MAIL_FROM: 'Frontdoor <hello@frontdoor.example>',
  BRAND_NAME: 'Northwind',
})
const db = ctx.deps.db
const admin = await signedInAs(ctx, 'admin')

async function mailTo(address: string) {
  await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
  return db.select().from(mailboxMessages).where(eq(mailboxMessages.to, address))
}

describe('account emails', () => {
  it('mails an invitation with the same link the admin is shown', async () => {
    const res = await ctx.app.request(
      '/api/users',
      json(
        { email: 'Jordan@Northwind.example', name: 'Jordan Lee', role: 'rep' },
        { cookie: admin.cookie },
      ),
    )
    expect(res.status).toBe(201)
    const { inviteLink } = await res.json()
    expect(inviteLink).toMatch(/\/password\?token=/)

    const [message] = await mailTo('Jordan Lee <jordan@northwind.example>')
    expect(message!.subject).toBe('admin person invited you to Northwind')
    expect(message!.text).toContain(inviteLink)
    expect(message!.html).toContain(`href="${inviteLink}"`)
    expect(message!.text).toContain('The link works for 7 days')
  })

  it('mails no invitation when the user is created with a password', async () => {
    await ctx.app.request(
      '/api/users',
      json(
        {
          email: 'pw@northwind.example',
          name: 'Pat',
          role: 'rep',
          password: 'a long enough password 1',
        },
        { cookie: admin.cookie },
      ),
    )
    expect(
      await db.select().from(outbox).where(eq(outbox.recipient, 'pw@northwind.example')),
    ).toEqual([])
  })

  it('mails nothing when the user cannot be created', async () => {
    const before = (await db.select().from(outbox)).length
    const res = await ctx.app.request(
      '/api/users',
      json({ email: admin.user.email, name: 'Dup', role: 'rep' }, { cookie: admin.cookie }),
    )
    expect(res.status).toBe(409)
    expect((await db.select().from(outbox)).length).toBe(before)
  })

  it('mails a password reset link valid for an hour, saying an admin asked for it', async () => {
    const [user] = await db.select().from(users).where(eq(users.email, 'jordan@northwind.example'))
    const res = await ctx.app.request(
      `/api/users/${user!.id}/reset-password`,
      json({}, { cookie: admin.cookie }),
    )
    const { link } = await res.json()
    const messages = await mailTo('Jordan Lee <jordan@northwind.example>')
    const reset = messages.find((m) => m.subject === 'Reset your Northwind password')!
    expect(reset.text).toContain(link)
    expect(reset.text).toContain('The link works for 1 hour')
    expect(reset.text).toContain('from an admin, admin person')
  })

  it('does not send a password link queued before its account was disabled, and says why', async () => {
    // The worker used to send it: a link that no longer works, to someone no longer on the team.
    const invited = await ctx.app.request(
      '/api/users',
      json(
        { email: 'leaving@northwind.example', name: 'Lee Ving', role: 'rep' },
        { cookie: admin.cookie },
      ),
    )
    const { user } = (await invited.json()) as { user: { id: string } }
    const reset = await ctx.app.request(
      `/api/users/${user.id}/reset-password`,
      json({}, { cookie: admin.cookie }),
    )
    expect(reset.status).toBe(200)
    // Another account's mail in the same batch still goes.
    const other = await ctx.app.request(
      '/api/users',
      json(
        { email: 'staying@northwind.example', name: 'Stay Ing', role: 'rep' },
        { cookie: admin.cookie },
      ),
    )
    expect(other.status).toBe(201)
    const disabled = await ctx.app.request(
      `/api/users/${user.id}/disable`,
      json({}, { cookie: admin.cookie }),
    )
    expect(disabled.status).toBe(200)

    const result = await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    expect(result).toMatchObject({ sent: 1, suppressed: 2 })
    const sent = await db.select().from(mailboxMessages)
    expect(sent.filter((m) => m.to.includes('leaving@northwind.example'))).toEqual([])
    expect(sent.filter((m) => m.to.includes('staying@northwind.example'))).toHaveLength(1)
    const rows = await db
      .select()
      .from(outbox)
      .where(eq(outbox.recipient, 'leaving@northwind.example'))
    expect(rows).toHaveLength(2)
    for (const row of rows)
      expect(row).toMatchObject({
        status: 'suppressed',
        lastErrorKind: 'account_disabled',
        lastError: 'not sent: the account was disabled after this mail was queued',
        sentAt: null,
      })
  })
})
