// "Send a test email" on the settings page: one transactional message through the outbox, so an
// admin sees the configured sender, transport and DKIM end to end.

import { html } from '../../email-templates/html.ts'
import { paragraph, renderLayout } from '../../email-templates/layout.ts'
import type { Db } from '../db/client.ts'
import type { Env } from '../env.ts'
import { formatAddress } from '../email-headers.ts'
import { enqueueEmail } from './outbox.ts'
import { brandOf, loadSenderSettings } from './sender.ts'

export async function enqueueTestEmail(
  db: Db,
  env: Env,
  to: { name: string; email: string },
  now: Date,
): Promise<string | null> {
  const sender = await loadSenderSettings(db, env)
  const brand = brandOf(sender)
  const sentAt = now.toISOString().replace('T', ' ').slice(0, 16) + ' UTC'
  const rendered = renderLayout({
    brand,
    subject: `Test email from ${sender.brandName}`,
    heading: 'Email delivery works',
    content: html`${paragraph(html`This test was requested by <strong>${to.name}</strong> at ${sentAt}.`)}
    ${paragraph('If it reached your inbox (not spam), the sender address and transport are set up correctly.')}`,
    text: `This test was requested by ${to.name} at ${sentAt}.\n\nIf it reached your inbox (not spam), the sender address and transport are set up correctly.`,
    footerNote: 'You received this email because you asked for a test on the settings page.',
  })
  return enqueueEmail(db, {
    category: 'transactional',
    to: formatAddress(to.name, to.email),
    recipient: to.email,
    ...rendered,
    template: 'test-email',
    now,
  })
}
