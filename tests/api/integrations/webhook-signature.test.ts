import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { webhookPayload, webhookSigner } from '../../../api/integrations/webhook-delivery.ts'

// Deliveries are signed with fast-sha256's HMAC keyed once per signer; the standardwebhooks
// package is the reference.

describe('webhook signatures', () => {
  it('are what the standardwebhooks package signs, and its verify accepts them', () => {
    for (let i = 0; i < 20; i++) {
      const secret = `whsec_${randomBytes(8 + i).toString('base64')}`
      const at = new Date(1_733_356_800_000 + i * 1_234_567)
      const payload = webhookPayload({
        type: 'deal.won',
        eventAt: at,
        data: { deal: { id: `d${i}`, title: 'Ünïcödé — 🚀' } },
      })
      const id = `0190f0a0-0000-7000-8000-${String(i).padStart(12, '0')}`
      const ours = webhookSigner(secret)(id, at, payload)
      expect(ours).toBe(new Webhook(secret).sign(id, at, payload))
      const headers = {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': webhookSigner(secret)(id, new Date(), payload),
      }
      expect(new Webhook(secret).verify(payload, headers)).toMatchObject({ type: 'deal.won' })
      expect(() =>
        new Webhook(secret).verify(payload.replace('deal.won', 'deal.lost'), headers),
      ).toThrow()
    }
  })

  it('stay right when one signer signs one message after another, whatever its key length', () => {
    // A key longer than SHA-256's 64-byte block is hashed first; shorter ones are padded.
    for (const bytes of [1, 32, 64, 65, 100]) {
      const secret = `whsec_${randomBytes(bytes).toString('base64')}`
      const sign = webhookSigner(secret)
      for (let i = 0; i < 5; i++) {
        const at = new Date(1_733_356_800_000 + i * 1_000)
        const id = `0190f0a0-0000-7000-8000-${String(i).padStart(12, '0')}`
        const payload = webhookPayload({
          type: 'deal.won',
          eventAt: at,
          data: { deal: { id: `d${i}`, title: 'x'.repeat(i * 97) } },
        })
        expect(sign(id, at, payload)).toBe(new Webhook(secret).sign(id, at, payload))
      }
    }
  })

  it('carry the previous secret’s signature too until it expires, the current one first', () => {
    const current = `whsec_${randomBytes(24).toString('base64')}`
    const old = `whsec_${randomBytes(24).toString('base64')}`
    const until = new Date(1_733_356_800_000)
    const sign = webhookSigner(current, { secret: old, until })
    const id = '0190f0a0-0000-7000-8000-000000000001'
    const payload = webhookPayload({ type: 'deal.won', eventAt: until, data: {} })
    const before = new Date(until.getTime() - 1_000)
    expect(sign(id, before, payload)).toBe(
      `${new Webhook(current).sign(id, before, payload)} ${new Webhook(old).sign(id, before, payload)}`,
    )
    // From its expiry on, a lane that read it while it still signed signs with the current only.
    expect(sign(id, until, payload)).toBe(new Webhook(current).sign(id, until, payload))
  })
})
