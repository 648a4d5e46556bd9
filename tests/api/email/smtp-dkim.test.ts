import { generateKeyPairSync } from 'node:crypto'
import { dkimVerify } from 'mailauth'
import { afterEach, describe, expect, it } from 'vitest'
import { formatAddress } from '../../../api/email-headers.ts'
import { createSmtpTransport } from '../../../api/email/smtp-transport.ts'
import type { OutgoingEmail } from '../../../api/email/transport.ts'
import { headerLines, startSmtpServer } from './smtp-server.ts'

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const keyRecord = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`

// DNS for the test: only the selector record of frontdoor.example exists.
async function resolver(name: string, type: string) {
  if (type === 'TXT' && name === 'mail2025._domainkey.frontdoor.example') return [[keyRecord]]
  throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' })
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const outreach: OutgoingEmail = {
  id: 'row-42',
  from: formatAddress('Riley from Frontdoor', 'riley@frontdoor.example'),
  to: formatAddress('Lee Park', 'lee.park@contoso.example'),
  subject: 'Quick question about Contoso',
  text: 'Hi Lee,\n\nhttps://frontdoor.example/r/abc\n\n-- \nUnsubscribe: https://frontdoor.example/u/tok',
  html: '<p>Hi Lee,</p><p><a href="https://frontdoor.example/r/abc">https://frontdoor.example/r/abc</a></p>',
  headers: {
    'List-Unsubscribe': '<https://frontdoor.example/u/q3k9x2m7w4z8c1n5v6b0>',
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  },
  category: 'outreach',
}

async function sendSigned() {
  const smtp = await startSmtpServer()
  cleanups.push(smtp.close)
  const transport = createSmtpTransport({
    url: smtp.url,
    dkim: {
      domainName: 'frontdoor.example',
      keySelector: 'mail2025',
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
  })
  cleanups.push(() => transport.close())
  expect(await transport.send(outreach)).toMatchObject({ ok: true })
  return smtp.received[0]!.raw
}

describe('DKIM signing over SMTP', () => {
  it('signs so that a verifier passes it, with both List-Unsubscribe headers covered', async () => {
    const raw = await sendSigned()
    const { results } = await dkimVerify(raw, { resolver })

    expect(results).toHaveLength(1)
    expect(results[0]!.status.result).toBe('pass')
    expect(results[0]!.signingDomain).toBe('frontdoor.example')

    const signature = headerLines(raw).find((l) => /^dkim-signature:/i.test(l))!
    const signed = /\bh=([^;]+)/.exec(signature)![1]!.replace(/\s+/g, '').toLowerCase().split(':')
    expect(signed).toContain('list-unsubscribe')
    expect(signed).toContain('list-unsubscribe-post')
    expect(signed).toEqual(expect.arrayContaining(['from', 'to', 'subject', 'message-id']))
  })

  it('fails verification when List-Unsubscribe-Post is altered in transit', async () => {
    const raw = await sendSigned()
    const tampered = Buffer.from(
      raw.toString('latin1').replace('List-Unsubscribe=One-Click', 'List-Unsubscribe=Two-Click'),
      'latin1',
    )
    const { results } = await dkimVerify(tampered, { resolver })
    expect(results[0]!.status.result).not.toBe('pass')
  })
})
