import { createCampaign, type CampaignInput } from '../../../api/campaigns/campaigns.ts'
import type { User } from '../../../api/accounts/users.ts'
import type { TestContext } from '../../helpers.ts'

// Campaign tests run with a configured marketing sender and postal address (outreach needs both).
export const CAMPAIGN_ENV = {
  MAIL_FROM_MARKETING: 'Frontdoor <hello@frontdoor.example>',
  POSTAL_ADDRESS: '1 Example Street, Springfield',
  BRAND_NAME: 'Frontdoor',
}

export const campaignInput = (over: Partial<CampaignInput> = {}): CampaignInput => ({
  name: 'Logistics leaders',
  senderName: 'Taylor',
  senderEmail: 'taylor@frontdoor.example',
  subjectTemplate: 'Quick question, {{firstName|there}}',
  bodyTemplate:
    'Hi {{firstName|there}},\n\nSee https://frontdoor.example/whitepapers/benchmark\n\nTaylor',
  ratePerHour: 3600,
  windowStartHour: 0,
  windowEndHour: 24,
  timezone: 'UTC',
  ...over,
})

export async function makeCampaign(
  ctx: TestContext,
  owner: Pick<User, 'id' | 'role'>,
  over: Partial<CampaignInput> = {},
) {
  const result = await createCampaign(
    ctx.deps.db,
    ctx.deps.env,
    owner,
    campaignInput(over),
    ctx.clock.now(),
  )
  if (!result.ok) throw new Error(result.message)
  return result.campaign
}

/** CSV text from rows of cells (quoted when needed). */
export function csv(rows: string[][], delimiter = ','): string {
  const cell = (v: string) => (/[",;\t\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)
  return rows.map((r) => r.map(cell).join(delimiter)).join('\n') + '\n'
}

/** A generated file of `n` prospects (some with a CSV-supplied website). */
export function bigCsv(n: number): string {
  const lines = ['email,first name,last name,company,title,website']
  for (let i = 0; i < n; i++)
    lines.push(
      `person${i}@company${i % 5000}.example,First${i},Last${i},Company ${i % 5000},Title ${i % 17},https://company${i % 5000}.example/p/${i}`,
    )
  return lines.join('\n') + '\n'
}
