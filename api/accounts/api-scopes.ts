import type { Permission } from './permissions.ts'

// What an API token may do. A token acts for the admin who made it, narrowed to its scopes: a
// guarded route needs the scope its permission maps to here. A permission with no scope (user
// management, settings, the mailbox, making tokens) is for people signed in, never for a token.

export const API_SCOPES = [
  'leads:read',
  'deals:read',
  'deals:write',
  'campaigns:read',
  'webhooks:manage',
] as const
export type ApiScope = (typeof API_SCOPES)[number]

export const API_SCOPE_LABELS: Record<ApiScope, string> = {
  'leads:read': 'Read leads and contacts',
  'deals:read': 'Read deals, their evidence and timeline',
  'deals:write':
    'Claim, move and edit deals, plan and log their activities, and add and edit contacts and companies',
  'campaigns:read': 'Read campaigns and their results',
  'webhooks:manage': 'Manage webhook subscriptions (their events carry lead, deal and click data)',
}

const SCOPE_OF: Partial<Record<Permission, ApiScope>> = {
  'contacts:read': 'leads:read',
  'pipeline:read': 'deals:read',
  'pipeline:read_team': 'deals:read',
  'deals:claim': 'deals:write',
  'deals:edit_own': 'deals:write',
  'deals:edit_any': 'deals:write',
  'campaigns:read': 'campaigns:read',
  'webhooks:manage': 'webhooks:manage',
}

/** The scope a token needs for `permission`; null when no token may have it. */
export function scopeFor(permission: Permission): ApiScope | null {
  return SCOPE_OF[permission] ?? null
}
