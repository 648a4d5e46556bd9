import type { CampaignStatus } from './access.ts'
import { inWindow, type SendingWindow } from './window.ts'

// Which recipients are due now: a pure function of the campaigns and the clock. A sender's
// messages are spaced evenly at its hourly rate (summed over all its campaigns: slots are the
// sender's, handed out round-robin among its sending campaigns), each slot must fall inside the
// window of the campaign that takes it, and only slots up to `horizonMs` ahead are handed out, so
// messages are enqueued just in time and a pause stops new ones at the next run. A campaign
// started for a later time ("Start at") takes no slot before that instant; its sender's other
// campaigns go on meanwhile.

export interface SchedulableCampaign {
  id: string
  status: CampaignStatus
  /** Canonical sender address: campaigns with the same one share a rate. */
  sender: string
  ratePerHour: number
  window: SendingWindow
  /** Recipients not yet enqueued. */
  pending: number
  /** The last slot this campaign was given. */
  lastSlotAt: Date | null
  /** Scheduled start: no slot before it (null: as soon as it is sending). */
  startAfter: Date | null
}

export interface PlannedSend {
  campaignId: string
  at: Date
}

export const HOUR_MS = 3_600_000

/**
 * The sends to enqueue now, in slot order. `campaigns` must include every campaign of each
 * sender that has a sending one (paused and completed ones too): their past slots count against
 * the sender's rate.
 */
export function planSends(
  campaigns: readonly SchedulableCampaign[],
  now: Date,
  options: { horizonMs: number } = { horizonMs: 0 },
): PlannedSend[] {
  const bySender = new Map<string, SchedulableCampaign[]>()
  for (const c of campaigns) {
    const group = bySender.get(c.sender) ?? []
    group.push(c)
    bySender.set(c.sender, group)
  }
  const planned: PlannedSend[] = []
  const until = now.getTime() + options.horizonMs
  for (const group of bySender.values()) {
    const sending = group.filter(
      (c) => c.status === 'sending' && c.pending > 0 && c.ratePerHour > 0,
    )
    if (sending.length === 0) continue
    // Several campaigns of one sender: the strictest rate holds for all of them together.
    const interval = HOUR_MS / Math.min(...sending.map((c) => c.ratePerHour))
    const last = Math.max(...group.map((c) => c.lastSlotAt?.getTime() ?? -Infinity))
    let slot = Number.isFinite(last) ? Math.max(last + interval, now.getTime()) : now.getTime()
    // All of them scheduled for later: the first slot is the earliest start, not now.
    slot = Math.max(slot, Math.min(...sending.map((c) => c.startAfter?.getTime() ?? -Infinity)))
    const left = new Map(sending.map((c) => [c.id, c.pending]))
    let turn = 0
    while (slot <= until) {
      const at = new Date(slot)
      let taker: SchedulableCampaign | null = null
      for (let i = 0; i < sending.length; i++) {
        const c = sending[(turn + i) % sending.length]!
        if ((left.get(c.id) ?? 0) > 0 && hasBegun(c, at) && inWindow(at, c.window)) {
          taker = c
          turn = (turn + i + 1) % sending.length
          break
        }
      }
      // Nobody may send in this slot (outside every window, or nothing left): the next run looks again.
      if (!taker) break
      planned.push({ campaignId: taker.id, at })
      left.set(taker.id, left.get(taker.id)! - 1)
      slot += interval
    }
  }
  return planned.sort((a, b) => a.at.getTime() - b.at.getTime())
}

const hasBegun = (c: SchedulableCampaign, at: Date) =>
  !c.startAfter || at.getTime() >= c.startAfter.getTime()
