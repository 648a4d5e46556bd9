import { describe, expect, it } from 'vitest'
import {
  campaignDecision,
  mayCreateFor,
  type CampaignAction,
} from '../../../api/campaigns/access.ts'

const admin = { id: 'a', role: 'admin' as const }
const sdr = { id: 's', role: 'sdr' as const }
const otherSdr = { id: 't', role: 'sdr' as const }
const rep = { id: 'r', role: 'rep' as const }
const mine = { ownerId: 's', status: 'sending' as const }

describe('campaignDecision', () => {
  it('lets everyone signed in read, nobody anonymous', () => {
    for (const actor of [admin, sdr, otherSdr, rep])
      expect(campaignDecision(actor, mine, 'read').ok).toBe(true)
    expect(campaignDecision(null, mine, 'read')).toMatchObject({ ok: false, status: 401 })
  })

  it('lets the owning SDR and admins pause, but not another SDR or a rep', () => {
    expect(campaignDecision(sdr, mine, 'pause')).toEqual({ ok: true, to: 'paused' })
    expect(campaignDecision(admin, mine, 'pause')).toEqual({ ok: true, to: 'paused' })
    expect(campaignDecision(otherSdr, mine, 'pause')).toMatchObject({ ok: false, status: 403 })
    expect(campaignDecision(rep, mine, 'pause')).toMatchObject({ ok: false, status: 403 })
  })

  it('follows draft → ready → sending ⇄ paused → completed', () => {
    const at = (
      status: 'draft' | 'ready' | 'sending' | 'paused' | 'completed',
      action: CampaignAction,
    ) => campaignDecision(sdr, { ownerId: 's', status }, action)
    expect(at('draft', 'ready')).toEqual({ ok: true, to: 'ready' })
    expect(at('ready', 'start')).toEqual({ ok: true, to: 'sending' })
    expect(at('sending', 'pause')).toEqual({ ok: true, to: 'paused' })
    expect(at('paused', 'resume')).toEqual({ ok: true, to: 'sending' })
    expect(at('paused', 'complete')).toEqual({ ok: true, to: 'completed' })
    expect(at('sending', 'resume')).toMatchObject({ ok: false, status: 409 })
    expect(at('completed', 'resume')).toMatchObject({ ok: false, status: 409 })
    expect(at('draft', 'pause')).toMatchObject({ ok: false, status: 409 })
  })

  it('allows edits and imports only before sending, and sends a ready campaign back to draft', () => {
    expect(campaignDecision(sdr, { ownerId: 's', status: 'ready' }, 'edit')).toEqual({
      ok: true,
      to: 'draft',
    })
    expect(campaignDecision(sdr, { ownerId: 's', status: 'ready' }, 'import')).toEqual({
      ok: true,
      to: 'draft',
    })
    const sending = campaignDecision(sdr, mine, 'edit')
    expect(sending).toMatchObject({ ok: false, status: 409 })
    if (!sending.ok) expect(sending.message).toBe('A sending campaign cannot be edited.')
    expect(campaignDecision(admin, { ownerId: 's', status: 'paused' }, 'edit')).toMatchObject({
      ok: false,
      status: 409,
    })
  })

  it('lets whoever runs a campaign send themselves a test in any state, and nobody else', () => {
    for (const status of ['draft', 'ready', 'sending', 'paused', 'completed'] as const) {
      expect(campaignDecision(sdr, { ownerId: 's', status }, 'test')).toEqual({
        ok: true,
        to: null,
      })
      expect(campaignDecision(admin, { ownerId: 's', status }, 'test').ok).toBe(true)
    }
    expect(campaignDecision(otherSdr, mine, 'test')).toMatchObject({ ok: false, status: 403 })
    expect(campaignDecision(rep, mine, 'test')).toMatchObject({ ok: false, status: 403 })
  })

  it('lets whoever runs a campaign take recipients out until it is completed, without changing its status', () => {
    for (const status of ['draft', 'ready', 'sending', 'paused'] as const) {
      expect(campaignDecision(sdr, { ownerId: 's', status }, 'remove_recipient')).toEqual({
        ok: true,
        to: null,
      })
      expect(campaignDecision(admin, { ownerId: 's', status }, 'remove_recipient').ok).toBe(true)
    }
    expect(
      campaignDecision(sdr, { ownerId: 's', status: 'completed' }, 'remove_recipient'),
    ).toEqual({
      ok: false,
      status: 409,
      code: 'wrong_status',
      message: 'A completed campaign cannot have recipients taken out.',
    })
    expect(campaignDecision(otherSdr, mine, 'remove_recipient')).toMatchObject({
      ok: false,
      status: 403,
    })
    expect(campaignDecision(rep, mine, 'remove_recipient')).toMatchObject({
      ok: false,
      status: 403,
    })
    expect(campaignDecision(null, mine, 'remove_recipient')).toMatchObject({ status: 401 })
  })

  it('lets whoever runs a campaign follow it up once it has sent, leaving its status as it is', () => {
    for (const status of ['sending', 'paused', 'completed'] as const) {
      expect(campaignDecision(sdr, { ownerId: 's', status }, 'follow_up')).toEqual({
        ok: true,
        to: null,
      })
      expect(campaignDecision(admin, { ownerId: 's', status }, 'follow_up').ok).toBe(true)
    }
    for (const status of ['draft', 'ready'] as const)
      expect(campaignDecision(sdr, { ownerId: 's', status }, 'follow_up')).toEqual({
        ok: false,
        status: 409,
        code: 'wrong_status',
        message: `A ${status} campaign cannot be followed up: nothing was sent yet.`,
      })
    expect(campaignDecision(otherSdr, mine, 'follow_up')).toMatchObject({ status: 403 })
    expect(campaignDecision(rep, mine, 'follow_up')).toMatchObject({ status: 403 })
  })
})

describe('mayCreateFor', () => {
  it('lets an SDR create for themselves and an admin for any SDR', () => {
    expect(mayCreateFor(sdr, sdr)).toBe(true)
    expect(mayCreateFor(sdr, otherSdr)).toBe(false)
    expect(mayCreateFor(admin, sdr)).toBe(true)
    expect(mayCreateFor(admin, rep)).toBe(false)
    expect(mayCreateFor(rep, rep)).toBe(false)
    expect(mayCreateFor(null, sdr)).toBe(false)
  })
})
