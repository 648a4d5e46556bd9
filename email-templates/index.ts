// Every email the product sends, for the admin preview page: `entry.render(entry.defaults)`.

import * as assetDelivery from './asset-delivery.ts'
import * as graderReportReady from './grader-report-ready.ts'
import * as newQualifiedLeads from './new-qualified-leads.ts'
import * as nextStepsDigest from './next-steps-digest.ts'
import * as outreach from './outreach.ts'
import * as passwordReset from './password-reset.ts'
import * as signInAlert from './sign-in-alert.ts'
import * as userInvitation from './user-invitation.ts'
import * as webhookDisabled from './webhook-disabled.ts'
import type { RenderedEmail } from './layout.ts'

export type { Brand, RenderedEmail } from './layout.ts'

export type TemplateEntry<P> = {
  name: string
  description: string
  render: (props: P) => RenderedEmail
  defaults: P
}

// Typed per entry, then widened for the list: a preview only ever renders an entry's own defaults.
function entry<P>(e: TemplateEntry<P>): TemplateEntry<any> {
  return e
}

export const templates: ReadonlyArray<TemplateEntry<any>> = [
  entry({
    name: 'asset-delivery',
    description: 'The gated whitepaper or case study a visitor asked for, with its download link.',
    render: assetDelivery.render,
    defaults: assetDelivery.defaults,
  }),
  entry({
    name: 'grader-report-ready',
    description: 'The full website grader report is ready: score, grade band, link to the report.',
    render: graderReportReady.render,
    defaults: graderReportReady.defaults,
  }),
  entry({
    name: 'new-qualified-leads',
    description: 'For reps: new qualified leads with their evidence, waiting to be taken over.',
    render: newQualifiedLeads.render,
    defaults: newQualifiedLeads.defaults,
  }),
  entry({
    name: 'next-steps-digest',
    description:
      'For reps who ask for it, each morning: overdue and today’s next steps, deals without one, leads waiting.',
    render: nextStepsDigest.render,
    defaults: nextStepsDigest.defaults,
  }),
  entry({
    name: 'user-invitation',
    description: 'An invitation to join, with a link to set a password.',
    render: userInvitation.render,
    defaults: userInvitation.defaults,
  }),
  entry({
    name: 'password-reset',
    description: 'A link to choose a new password.',
    render: passwordReset.render,
    defaults: passwordReset.defaults,
  }),
  entry({
    name: 'sign-in-alert',
    description:
      'Someone is guessing the password of this account: it is not locked, guesses are slowed.',
    render: signInAlert.render,
    defaults: signInAlert.defaults,
  }),
  entry({
    name: 'outreach',
    description: 'An SDR-written plain-text outreach message with merge fields and tracked links.',
    render: outreach.render,
    defaults: outreach.defaults,
  }),
  entry({
    name: 'webhook-disabled',
    description: 'For the admin who made it: a webhook subscription was turned off, and why.',
    render: webhookDisabled.render,
    defaults: webhookDisabled.defaults,
  }),
]

export function findTemplate(name: string): TemplateEntry<any> | null {
  return templates.find((t) => t.name === name) ?? null
}
