import type { Role } from '../accounts/users.ts'
import { CAMPAIGN_STATUSES } from '../db/schema.ts'

// Who may do what to which campaign, and in which status: the one rule routes and pages ask.
// Everyone signed in may read (reps see what the SDRs run). Admins act on every campaign; an
// SDR acts on the campaigns that credit them; reps never act. Templates and recipients change
// only before sending starts, so everybody previewed what goes out. Whoever may run a campaign
// may send themselves a test of it. A recipient not yet handed to the outbox can be taken out
// until the campaign is completed (an SDR learns the prospect answered by phone). Once it has
// sent, whoever runs it may follow up with those who did not click (a new draft, same SDR).

export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number]
export { CAMPAIGN_STATUSES }

export type CampaignAction =
  | 'read'
  | 'edit'
  | 'import'
  | 'ready'
  | 'start'
  | 'pause'
  | 'resume'
  | 'complete'
  | 'test'
  | 'remove_recipient'
  | 'follow_up'

export interface CampaignActor {
  id: string
  role: Role
}

/** Status a campaign must be in for each action, and the status it goes to. */
const STATUS_RULES: Record<
  Exclude<CampaignAction, 'read'>,
  { from: readonly CampaignStatus[]; to?: CampaignStatus }
> = {
  // An edit or a new import sends a ready campaign back to draft: it has to be checked again.
  edit: { from: ['draft', 'ready'], to: 'draft' },
  import: { from: ['draft', 'ready'], to: 'draft' },
  ready: { from: ['draft', 'ready'], to: 'ready' },
  start: { from: ['draft', 'ready'], to: 'sending' },
  pause: { from: ['sending'], to: 'paused' },
  resume: { from: ['paused'], to: 'sending' },
  complete: { from: ['sending', 'paused'], to: 'completed' },
  // A test message to oneself, in any state: what went out can still be looked at.
  test: { from: CAMPAIGN_STATUSES },
  // Whoever may run it, until it is completed (a stop takes back what waited in the outbox).
  remove_recipient: { from: ['draft', 'ready', 'sending', 'paused'] },
  // Only what has gone out can be followed up; the original stays as it is.
  follow_up: { from: ['sending', 'paused', 'completed'] },
}

export type CampaignDecision =
  | { ok: true; to: CampaignStatus | null }
  | { ok: false; status: 401 | 403 | 409; code: string; message: string }

const ACTION_NAMES: Record<Exclude<CampaignAction, 'read'>, string> = {
  edit: 'be edited',
  import: 'be given more recipients',
  ready: 'be marked ready',
  start: 'be started',
  pause: 'be paused',
  resume: 'be resumed',
  complete: 'be stopped',
  test: 'be tested',
  remove_recipient: 'have recipients taken out',
  follow_up: 'be followed up: nothing was sent yet',
}

export function campaignDecision(
  actor: CampaignActor | null | undefined,
  campaign: { ownerId: string; status: CampaignStatus },
  action: CampaignAction,
): CampaignDecision {
  if (!actor) return { ok: false, status: 401, code: 'unauthorized', message: 'Sign in first.' }
  if (action === 'read') return { ok: true, to: null }
  if (actor.role === 'rep')
    return {
      ok: false,
      status: 403,
      code: 'forbidden',
      message: 'Reps can look at campaigns; SDRs and admins run them.',
    }
  if (actor.role === 'sdr' && campaign.ownerId !== actor.id)
    return {
      ok: false,
      status: 403,
      code: 'forbidden',
      message: 'This campaign belongs to another SDR.',
    }
  const rule = STATUS_RULES[action]
  if (!rule.from.includes(campaign.status))
    return {
      ok: false,
      status: 409,
      code: 'wrong_status',
      message: `A ${campaign.status} campaign cannot ${ACTION_NAMES[action]}.`,
    }
  return { ok: true, to: rule.to ?? null }
}

/** Whether the actor may create campaigns, and for whom: SDRs for themselves, admins for any SDR. */
export function mayCreateFor(
  actor: CampaignActor | null | undefined,
  owner: CampaignActor,
): boolean {
  if (!actor) return false
  if (actor.role === 'admin') return owner.role === 'sdr' || owner.id === actor.id
  return actor.role === 'sdr' && owner.id === actor.id
}
