import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { campaignImports } from '../../../api/db/schema.ts'
import { ORIGIN, setupTestApp, signedInAs } from '../../helpers.ts'
import { CAMPAIGN_ENV, makeCampaign } from './fixtures.ts'

// Issue 19, item 1: the CSV upload is multipart, which readBody does not read, so it gets the
// same refusals here: no U+0000 in the file or its name, no charset but UTF-8. Each is a 400 or
// 415 that says what is wrong, and nothing is stored.

const ctx = await setupTestApp(CAMPAIGN_ENV)
const db = ctx.deps.db
const owner = await signedInAs(ctx, 'sdr')

function upload(
  file: File,
  options: { js?: boolean; contentType?: (boundary: string) => string } = {},
): RequestInit {
  const headers: Record<string, string> = { cookie: owner.cookie, origin: ORIGIN }
  if (options.js !== false) headers.accept = 'application/json'
  const body = new FormData()
  body.set('file', file)
  if (!options.contentType) return { method: 'POST', headers, body }
  // A hand-made multipart body, to declare parameters FormData would not.
  const boundary = 'frontdoor-test-boundary'
  const raw =
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\n` +
    `Content-Type: ${file.type}\r\n\r\n`
  return {
    method: 'POST',
    headers: { ...headers, 'content-type': options.contentType(boundary) },
    body: new Blob([raw, file, `\r\n--${boundary}--\r\n`]),
  }
}

async function nothingStored(campaignId: string) {
  expect(
    await db.select().from(campaignImports).where(eq(campaignImports.campaignId, campaignId)),
  ).toEqual([])
}

const good = 'email,first name\nana@acme.example,Ana\n'

describe('the CSV upload refuses what every other input refuses', () => {
  it.each([
    ['in a value', 'email,first name\nana@acme.example,A\0na\n', 'p.csv'],
    ['in the header', 'email,first\0name\nana@acme.example,Ana\n', 'p.csv'],
    ['in the file name', good, 'p\0.csv'],
  ])('a NUL character %s: 400, nothing stored', async (_where, text, name) => {
    const c = await makeCampaign(ctx, owner.user)
    const res = await ctx.app.request(
      `/api/campaigns/${c.id}/imports`,
      upload(new File([text], name, { type: 'text/csv' })),
    )
    expect(res.status).toBe(400)
    expect((await res.json()).error).toMatchObject({
      code: 'invalid_character',
      message: expect.stringContaining('NUL character (U+0000)'),
    })
    await nothingStored(c.id)
  })

  it('a file saved as UTF-16 (a NUL after every ASCII letter): 400 that says to save it as CSV UTF-8', async () => {
    const c = await makeCampaign(ctx, owner.user)
    const utf16 = new Uint8Array(Buffer.from(good, 'utf16le'))
    const res = await ctx.app.request(
      `/api/campaigns/${c.id}/imports`,
      upload(new File([utf16], 'p.csv', { type: 'text/csv' })),
    )
    expect(res.status).toBe(400)
    expect((await res.json()).error.message).toContain('CSV UTF-8')
    await nothingStored(c.id)
  })

  it('a plain form post gets the message on the campaign page, not a JSON error', async () => {
    const c = await makeCampaign(ctx, owner.user)
    const res = await ctx.app.request(
      `/api/campaigns/${c.id}/imports`,
      upload(new File(['email\na\0@acme.example\n'], 'p.csv', { type: 'text/csv' }), {
        js: false,
      }),
    )
    expect(res.status).toBe(303)
    const back = new URL(res.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe(`/app/campaigns/${c.id}`)
    expect(back.searchParams.get('error')).toContain('NUL character (U+0000)')
    await nothingStored(c.id)
  })

  it.each([
    [
      'the file',
      (b: string) => `multipart/form-data; boundary=${b}`,
      'text/csv; charset=windows-1252',
    ],
    [
      'the request',
      (b: string) => `multipart/form-data; boundary=${b}; charset=latin1`,
      'text/csv',
    ],
  ])(
    'a charset other than UTF-8 declared for %s: 415, nothing stored',
    async (_what, type, fileType) => {
      const c = await makeCampaign(ctx, owner.user)
      const res = await ctx.app.request(
        `/api/campaigns/${c.id}/imports`,
        upload(new File([good], 'p.csv', { type: fileType }), { contentType: type }),
      )
      expect(res.status).toBe(415)
      expect((await res.json()).error).toMatchObject({ code: 'unsupported_charset' })
      await nothingStored(c.id)
    },
  )

  it('takes the same file declared as UTF-8, in either place', async () => {
    const c = await makeCampaign(ctx, owner.user)
    const res = await ctx.app.request(
      `/api/campaigns/${c.id}/imports`,
      upload(new File([good], 'p.csv', { type: 'text/csv; charset="UTF-8"' }), {
        contentType: (b) => `multipart/form-data; boundary=${b}; charset=utf-8`,
      }),
    )
    expect(res.status).toBe(202)
    expect(
      await db.select().from(campaignImports).where(eq(campaignImports.campaignId, c.id)),
    ).toHaveLength(1)
  })
})

describe('the CSV upload says what is wrong with the file', () => {
  async function refused(file: File, options: Parameters<typeof upload>[1] = {}) {
    const c = await makeCampaign(ctx, owner.user)
    const res = await ctx.app.request(`/api/campaigns/${c.id}/imports`, upload(file, options))
    await nothingStored(c.id)
    return { status: res.status, error: (await res.json()).error }
  }
  const multipart = (b: string) => `multipart/form-data; boundary=${b}`

  it('an empty file that was chosen: 422 "The file is empty", not "Choose a file"', async () => {
    expect(await refused(new File([], 'prospects.csv', { type: 'text/csv' }))).toEqual({
      status: 422,
      error: { code: 'empty_file', message: 'The file is empty.' },
    })
    // What a browser sends when no file was chosen: a part with no name and no content.
    expect(
      await refused(new File([], '', { type: 'application/octet-stream' }), {
        contentType: multipart,
      }),
    ).toEqual({
      status: 422,
      error: { code: 'no_file', message: 'Choose a CSV file to import.' },
    })
  })

  it.each([
    ['a header line', 'email,first name\n'],
    ['a header line without a newline', 'email,first name'],
    ['a header line, a BOM and blank lines', '\uFEFFemail;first name\r\n\r\n\r\n'],
  ])('only %s: 422 that there are no rows under it', async (_what, text) => {
    expect(await refused(new File([text], 'p.csv', { type: 'text/csv' }))).toEqual({
      status: 422,
      error: {
        code: 'no_rows',
        message: 'The file has a header line but no rows under it: add a row for each person.',
      },
    })
  })

  it.each([
    // An .xlsx is a ZIP archive: "PK\x03\x04", then NUL bytes in its first entry's header.
    ['an .xlsx', [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00, 0x08, 0x00, 0x00, 0x00]],
    ['an old .xls', [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0x00, 0x00, 0x00, 0x00]],
  ])(
    '%s renamed to .csv: 422 that it is an Excel workbook to save as CSV UTF-8',
    async (_what, bytes) => {
      const workbook = new Uint8Array([
        ...bytes,
        ...new TextEncoder().encode('[Content_Types].xml'),
      ])
      const { status, error } = await refused(new File([workbook], 'prospects.csv'))
      expect(status).toBe(422)
      expect(error.code).toBe('not_csv')
      expect(error.message).toMatch(/^The file is an Excel workbook, not CSV: .*"CSV UTF-8/)
    },
  )
})
