import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { contacts, downloadTokens, outbox } from '../../../api/db/schema.ts'
import { attachmentDisposition, findGatedFile } from '../../../api/leads/downloads.ts'
import { ORIGIN } from '../../helpers.ts'
import {
  demoFilesDir,
  downloadTokenOf,
  leadForm,
  postLead,
  setupLeadApp,
} from '../leads/lead-helpers.ts'

const ctx = await setupLeadApp()
const { db } = ctx.deps
const FILE = 'demo-mid-market-pipeline-benchmark-2026.pdf'
/** Page text with its line wrapping undone. */
const squash = (html: string) => html.replace(/\s+/g, ' ')

/** A fresh lead for `email`; returns its download token from the thank-you redirect. */
async function downloadTokenFor(email: string): Promise<string> {
  const res = await postLead(ctx, leadForm(ctx, { email }))
  return downloadTokenOf(res)!
}

const renew = (token: string, headers: Record<string, string> = {}) =>
  ctx.app.request(`/d/${token}/renew`, {
    method: 'POST',
    headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: '',
  })

describe('GET /d/<token>', () => {
  it('serves the gated PDF as an attachment with the right headers, as many times as asked', async () => {
    const token = await downloadTokenFor('reader@wayne.example')
    const expected = await readFile(join(await demoFilesDir(), FILE))
    for (let i = 0; i < 3; i++) {
      const res = await ctx.app.request(`/d/${token}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/pdf')
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="${FILE}"; filename*=UTF-8''${FILE}`,
      )
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('cache-control')).toBe('private, no-store')
      expect(res.headers.get('content-length')).toBe(String(expected.length))
      const body = Buffer.from(await res.arrayBuffer())
      expect(body.subarray(0, 5).toString()).toBe('%PDF-')
      expect(body.equals(expected)).toBe(true)
    }
    const [row] = await db
      .select()
      .from(downloadTokens)
      .where(eq(downloadTokens.file, FILE))
      .then((rows) => rows.filter((r) => r.downloads > 0))
    expect(row!.downloads).toBe(3)
    expect(row!.lastDownloadAt).toEqual(ctx.clock.now())
  })

  it('answers HEAD (link checkers) without counting a download', async () => {
    const token = await downloadTokenFor('head@wayne.example')
    const res = await ctx.app.request(`/d/${token}`, { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/pdf')
    const rows = await db.select().from(downloadTokens)
    expect(rows.reduce((n, r) => n + r.downloads, 0)).toBe(3) // only the previous test's three
  })

  it('shows a friendly 404 page for an unknown or malformed token', async () => {
    for (const token of ['a'.repeat(32), 'not-a-token', '..%2F..%2Fpackage.json', 'A'.repeat(32)]) {
      const res = await ctx.app.request(`/d/${token}`)
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toContain('text/html')
      const page = squash(await res.text())
      expect(page).toContain('<html lang="en">')
      expect(page).toContain('This download link does not work')
      expect(page).toContain('href="/whitepapers"')
    }
  })

  it('after 7 days shows a page that emails a fresh link to the address on file', async () => {
    const token = await downloadTokenFor('late@wayne.example')
    ctx.clock.advance(7 * 86_400_000 - 1000)
    expect((await ctx.app.request(`/d/${token}`)).status).toBe(200)
    ctx.clock.advance(1000)
    const expired = await ctx.app.request(`/d/${token}`)
    expect(expired.status).toBe(410)
    const page = squash(await expired.text())
    expect(page).toContain('This download link has expired')
    expect(page).toContain(`<form method="post" action="/d/${token}/renew">`)
    expect(page).toContain('href="/whitepapers/mid-market-pipeline-benchmark-2026"')
    expect(page).not.toContain('late@wayne.example') // the page never reveals whose link it was

    const before = await db.select().from(outbox).where(eq(outbox.recipient, 'late@wayne.example'))
    const renewed = await renew(token)
    expect(renewed.status).toBe(200)
    expect(squash(await renewed.text())).toContain('A new link is on its way')
    const mails = await db.select().from(outbox).where(eq(outbox.recipient, 'late@wayne.example'))
    expect(mails).toHaveLength(before.length + 1)
    const newest = mails.find((m) => !before.some((b) => b.id === m.id))!
    const link = /\/d\/([a-z2-7]+)/.exec((newest.payload as { text: string }).text)![1]!
    expect(link).not.toBe(token)
    expect((await ctx.app.request(`/d/${link}`)).status).toBe(200)
    expect((await ctx.app.request(`/d/${token}`)).status).toBe(410) // the old one stays expired
  })

  it('limits re-sends per link (3 a day) and refuses other sites’ forms', async () => {
    const token = await downloadTokenFor('eager@wayne.example')
    ctx.clock.advance(8 * 86_400_000)
    expect((await renew(token, { origin: 'https://evil.example' })).status).toBe(400)
    for (let i = 0; i < 3; i++) expect((await renew(token)).status).toBe(200)
    const limited = await renew(token)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(
      await db.select().from(outbox).where(eq(outbox.recipient, 'eager@wayne.example')),
    ).toHaveLength(1 + 3)
  })

  it('says the file is unavailable (and logs it) when it is missing on disk', async () => {
    const token = await downloadTokenFor('missing@wayne.example')
    const [contact] = await db
      .select()
      .from(contacts)
      .where(eq(contacts.email, 'missing@wayne.example'))
    await db
      .update(downloadTokens)
      .set({ file: 'demo-gone.pdf' })
      .where(eq(downloadTokens.contactId, contact!.id))
    const res = await ctx.app.request(`/d/${token}`)
    expect(res.status).toBe(404)
    expect(squash(await res.text())).toContain('not available right now')
  })
})

describe('DOWNLOAD_LINK_DAYS', () => {
  it('sets how long links work', async () => {
    const short = await setupLeadApp({ DOWNLOAD_LINK_DAYS: '2' })
    const res = await postLead(short, leadForm(short, { email: 'short@wayne.example' }))
    const token = downloadTokenOf(res)!
    short.clock.advance(2 * 86_400_000 - 1)
    expect((await short.app.request(`/d/${token}`)).status).toBe(200)
    short.clock.advance(1)
    const expired = await short.app.request(`/d/${token}`)
    expect(expired.status).toBe(410)
    expect(squash(await expired.text())).toContain('Download links work for 2 days')
  })
})

describe('gated files stay inside the content-files directory', () => {
  it('refuses names that are paths, and files that are not there', async () => {
    const dir = await demoFilesDir()
    expect(await findGatedFile(dir, FILE)).toMatchObject({
      name: FILE,
      contentType: 'application/pdf',
      size: (await stat(join(dir, FILE))).size,
    })
    for (const name of ['../package.json', '/etc/passwd', 'sub/x.pdf', '..', 'nope.pdf'])
      expect(await findGatedFile(dir, name)).toBeNull()
  })

  it('quotes a file name safely in Content-Disposition', () => {
    expect(attachmentDisposition('Rapport 2026 "final".pdf')).toBe(
      `attachment; filename="Rapport 2026 _final_.pdf"; filename*=UTF-8''Rapport%202026%20%22final%22.pdf`,
    )
    expect(attachmentDisposition('Übersicht.pdf')).toBe(
      `attachment; filename="_bersicht.pdf"; filename*=UTF-8''%C3%9Cbersicht.pdf`,
    )
  })
})
