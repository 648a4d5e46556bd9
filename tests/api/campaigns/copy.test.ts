import { describe, expect, it } from 'vitest'
import { copyValues, type Campaign } from '../../../api/campaigns/campaigns.ts'

const original = {
  id: 'c1',
  name: 'Logistics leaders',
  ownerId: 'taylor',
  senderName: 'Taylor Brooks',
  senderEmail: 'taylor@frontdoor.example',
  replyTo: 'replies@frontdoor.example',
  subjectTemplate: '{{firstName}}, a question',
  bodyTemplate: 'Hi {{firstName}},\n\nhttps://frontdoor.example/pricing',
  ratePerHour: 40,
  windowStartHour: 9,
  windowEndHour: 17,
  timezone: 'Europe/Berlin',
} as Campaign
const own = { senderName: 'Jamie Doe', senderEmail: 'jamie@frontdoor.example' }
const message = {
  subjectTemplate: original.subjectTemplate,
  bodyTemplate: original.bodyTemplate,
  ratePerHour: 40,
  windowStartHour: 9,
  windowEndHour: 17,
  timezone: 'Europe/Berlin',
}

describe('copyValues ("Use as a template")', () => {
  it('gives its owner the whole campaign back, named as a copy', () => {
    expect(copyValues(original, { id: 'taylor', role: 'sdr' }, own)).toEqual({
      name: 'Logistics leaders (copy)',
      senderName: 'Taylor Brooks',
      senderEmail: 'taylor@frontdoor.example',
      replyTo: 'replies@frontdoor.example',
      ...message,
    })
  })

  it('lets another SDR reuse the message, sent as themselves and credited to them', () => {
    expect(copyValues(original, { id: 'jamie', role: 'sdr' }, own)).toEqual({
      name: 'Logistics leaders (copy)',
      senderName: 'Jamie Doe',
      senderEmail: 'jamie@frontdoor.example',
      replyTo: null,
      ...message,
    })
  })

  it('keeps an admin’s copy credited to the original SDR and sent as them', () => {
    const copy = copyValues(original, { id: 'morgan', role: 'admin' }, own)
    expect(copy).toMatchObject({ ownerId: 'taylor', senderEmail: 'taylor@frontdoor.example' })
    // An admin's own campaign: no SDR to pick ("Me").
    const mine = copyValues(
      { ...original, ownerId: 'morgan' },
      { id: 'morgan', role: 'admin' },
      own,
    )
    expect(mine).not.toHaveProperty('ownerId')
    expect(mine.senderEmail).toBe('taylor@frontdoor.example')
  })

  it('stays within the name’s 200 characters', () => {
    const long = copyValues(
      { ...original, name: 'x'.repeat(200) },
      { id: 'taylor', role: 'sdr' },
      own,
    )
    expect(long.name).toHaveLength(200)
    expect(long.name).toMatch(/x \(copy\)$/)
  })
})
